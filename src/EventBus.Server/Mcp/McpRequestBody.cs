using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp;

/// <summary>
/// Reads a POST body into one JSON-RPC message, answering 400/413 itself when it cannot: not UTF-8 (refused, never
/// repaired), not JSON, not one JSON-RPC message, or a message <see cref="JsonRpcChecks"/> finds malformed.
/// </summary>
internal static class McpRequestBody
{
    /// <summary>The message, and the body it was read from (which the tool dispatcher may need to read again).</summary>
    public readonly record struct Post(JsonRpcMessage Message, ReadOnlyMemory<byte> Body);

    public static async Task<Post?> ReadAsync(HttpContext context)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (limit is { } max && context.Request.ContentLength > max)
        {
            await TooLargeAsync(context, max);
            return null;
        }

        // Not disposed: the returned body is a view of its buffer (a MemoryStream holds nothing to release).
        var buffer = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(context, limit ?? 0);
            return null;
        }

        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (Core.Bus.TextRules.FirstInvalidUtf8Byte(bytes.Span) is var bad and >= 0)
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.ParseError,
                $"Parse error: {Core.Bus.TextRules.NotUtf8(bad)}.");
            return null;
        }

        if (JsonRpcChecks.CheckText(bytes.Span) is { } badText)
        {
            await RefuseAsync(context, badText);
            return null;
        }

        try
        {
            var trimmed = bytes.Span.TrimStart(" \t\r\n"u8);
            if (trimmed.Length > 0 && trimmed[0] == (byte)'[')
            {
                await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.InvalidRequest,
                    "Invalid Request: JSON-RPC batches are not supported; send one message per POST.");
                return null;
            }

            var message = JsonSerializer.Deserialize<JsonRpcMessage>(bytes.Span, McpJson.Options);
            if (message is not null && JsonRpcChecks.CheckParams(message) is { } badParams)
            {
                await RefuseAsync(context, badParams);
                return null;
            }

            if (message is not null)
            {
                return new Post(message, bytes);
            }
        }
        catch (JsonException ex) when (!IsJson(bytes.Span))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.ParseError,
                $"Parse error: the body is not valid JSON ({ex.Message})");
            return null;
        }
        catch (JsonException)
        {
            // Valid JSON that is not a JSON-RPC message: answered below.
        }

        await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.InvalidRequest,
            "Invalid Request: the body is JSON but not a JSON-RPC 2.0 message (expected \"jsonrpc\": \"2.0\" and a \"method\", or a response).");
        return null;
    }

    private static Task RefuseAsync(HttpContext context, JsonRpcRefusal refusal) =>
        JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, refusal.Code, refusal.Message, refusal.Id);

    private static bool IsJson(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            while (reader.Read())
            {
            }

            return bytes.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Task TooLargeAsync(HttpContext context, long max) =>
        JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, JsonRpcReplies.ServerError,
            $"Payload Too Large: the request body exceeds {max} bytes (EventBus:MaxRequestBodyBytes).");
}
