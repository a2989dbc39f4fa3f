using System.Text.Json.Nodes;
using EventBus.Server.Mcp;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Limits;

/// <summary>How a refusal is answered: 429 with <c>Retry-After</c> (when known) and a body that names the limit.</summary>
internal static class LimitReplies
{
    /// <summary>REST: problem details with <c>limit</c> and <c>retry_after_seconds</c>.</summary>
    public static ProblemHttpResult Problem(HttpContext context, LimitRefusal refusal)
    {
        SetRetryAfter(context, refusal);
        var extensions = new Dictionary<string, object?> { ["limit"] = refusal.Limit };
        if (refusal.RetryAfterSeconds is { } seconds)
        {
            extensions["retry_after_seconds"] = seconds;
        }

        return TypedResults.Problem(refusal.Message, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests", extensions: extensions);
    }

    /// <summary>MCP: a JSON-RPC error (-32000) whose <c>data</c> holds <c>limit</c> and <c>retry_after_seconds</c>.</summary>
    public static Task WriteJsonRpcAsync(HttpContext context, LimitRefusal refusal, RequestId? id = null)
    {
        SetRetryAfter(context, refusal);
        var data = new JsonObject { ["limit"] = refusal.Limit };
        if (refusal.RetryAfterSeconds is { } seconds)
        {
            data["retry_after_seconds"] = seconds;
        }

        return JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, JsonRpcReplies.ServerError, refusal.Message, id, data);
    }

    private static void SetRetryAfter(HttpContext context, LimitRefusal refusal)
    {
        if (refusal.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
