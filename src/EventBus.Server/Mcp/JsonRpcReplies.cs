using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp;

/// <summary>JSON-RPC error responses written by the HTTP binding itself (before a message reaches the SDK).</summary>
internal static class JsonRpcReplies
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;

    // Not part of the MCP standard; the TypeScript SDK uses it for transport-level refusals, so clients know it.
    public const int ServerError = -32000;

    public static Task WriteErrorAsync(HttpContext context, int status, int code, string message, RequestId? id = null, JsonNode? data = null)
    {
        var body = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = id is { } requestId ? JsonSerializer.SerializeToNode(requestId, McpJson.Options) : null,
            ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
        };
        if (data is not null)
        {
            body["error"]!["data"] = data;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }
}

/// <summary>The SDK's serializer options, for its protocol types.</summary>
internal static class McpJson
{
    public static JsonSerializerOptions Options => ModelContextProtocol.McpJsonUtilities.DefaultOptions;
}
