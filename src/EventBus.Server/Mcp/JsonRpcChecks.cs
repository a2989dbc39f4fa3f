using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using EventBus.Core.Bus;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp;

/// <summary>A JSON-RPC error the binding answers with before a message reaches the SDK or a tool.</summary>
internal readonly record struct JsonRpcRefusal(int Code, string Message, RequestId? Id);

/// <summary>
/// Checks a JSON-RPC message before the SDK sees it, so malformed input gets an error that says what was wrong instead
/// of the SDK's bare -32603 "An error occurred.": no string anywhere may hold an unpaired surrogate, params must be an
/// object, and the params of the methods the SDK answers must read as their protocol type.
/// </summary>
internal static class JsonRpcChecks
{
    private const string ToolArgumentsPrefix = "params.arguments.";

    /// <summary>The methods the SDK answers for us, and the type it reads their params as.</summary>
    private static readonly Dictionary<string, JsonTypeInfo> Params = new(StringComparer.Ordinal)
    {
        [RequestMethods.Initialize] = TypeInfo<InitializeRequestParams>(),
        [RequestMethods.Ping] = TypeInfo<PingRequestParams>(),
        [RequestMethods.ToolsList] = TypeInfo<ListToolsRequestParams>(),
        [RequestMethods.ResourcesList] = TypeInfo<ListResourcesRequestParams>(),
        [RequestMethods.ResourcesTemplatesList] = TypeInfo<ListResourceTemplatesRequestParams>(),
        [RequestMethods.ResourcesRead] = TypeInfo<ReadResourceRequestParams>(),
        [RequestMethods.ResourcesSubscribe] = TypeInfo<SubscribeRequestParams>(),
        [RequestMethods.ResourcesUnsubscribe] = TypeInfo<UnsubscribeRequestParams>(),
        // Deprecated from revision 2026-07-28 (MCP9005), but part of the 2025-11-25 revision we serve (McpServerSetup).
#pragma warning disable MCP9005
        [RequestMethods.LoggingSetLevel] = TypeInfo<SetLevelRequestParams>(),
#pragma warning restore MCP9005
        [NotificationMethods.InitializedNotification] = TypeInfo<InitializedNotificationParams>(),
        [NotificationMethods.CancelledNotification] = TypeInfo<CancelledNotificationParams>(),
        [NotificationMethods.ProgressNotification] = TypeInfo<ProgressNotificationParams>(),
    };

    /// <summary>
    /// The first string in the raw message that is not valid text, outside a tool call's argument values (the tool
    /// names those itself, as a tool error). Cheap for the usual body, which has no surrogate escape at all.
    /// </summary>
    public static JsonRpcRefusal? CheckText(ReadOnlySpan<byte> body)
    {
        if (!TextRules.MayHaveSurrogateEscape(body))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException)
        {
            return null; // Not JSON: the parse that follows says so.
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var method = root.TryGetProperty("method", out var m) && TextRules.TryGetString(m, out var name) ? name : null;
            var where = TextRules.FindInvalidText(root, "",
                method == RequestMethods.ToolsCall ? static path => path.StartsWith(ToolArgumentsPrefix, StringComparison.Ordinal) : null);
            if (where is null)
            {
                return null;
            }

            var id = IdOf(root);
            return UnderParams(where)
                ? new JsonRpcRefusal(JsonRpcReplies.InvalidParams, $"Invalid params for {method ?? "this request"}: {TextRules.UnpairedSurrogate(where)}", id)
                : new JsonRpcRefusal(JsonRpcReplies.InvalidRequest, $"Invalid Request: {TextRules.UnpairedSurrogate(where)}", id);
        }
    }

    /// <summary>Params must be an object; for the methods the SDK answers, one that reads as the method's params type.</summary>
    public static JsonRpcRefusal? CheckParams(JsonRpcMessage message)
    {
        var (method, parameters, id) = message switch
        {
            JsonRpcRequest r => (r.Method, r.Params, (RequestId?)r.Id),
            JsonRpcNotification n => (n.Method, n.Params, null),
            _ => (null, null, null),
        };
        if (method is null || parameters is null)
        {
            return null;
        }

        if (parameters is not JsonObject)
        {
            return new JsonRpcRefusal(JsonRpcReplies.InvalidParams,
                $"Invalid params for {method}: params must be an object (got {Describe(parameters.GetValueKind())}).", id);
        }

        if (!Params.TryGetValue(method, out var type))
        {
            return null;
        }

        try
        {
            parameters.Deserialize(type);
            return null;
        }
        catch (JsonException ex)
        {
            return new JsonRpcRefusal(JsonRpcReplies.InvalidParams, $"Invalid params for {method}: {Reason(ex)}", id);
        }
    }

    /// <summary>The message of a JSON error, with the params field it is about and without the line and byte noise.</summary>
    public static string Reason(JsonException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        var field = ex.Path is { Length: > 1 } path && path.StartsWith('$') ? "params" + path[1..] : null;

        // "JSON deserialization for type '<the params type>' was missing required properties including: 'x'."
        const string Missing = "was missing required properties including: ";
        var missing = message.IndexOf(Missing, StringComparison.Ordinal);
        if (missing >= 0)
        {
            return $"{field ?? "params"} is missing required properties: {message[(missing + Missing.Length)..]}";
        }

        if (field is null)
        {
            return message;
        }

        // "could not be converted to <the whole params type>" names a type the client never sees; the field is the news.
        return message.StartsWith("The JSON value could not be converted to", StringComparison.Ordinal)
            ? $"{field} has the wrong type or value."
            : $"{field}: {message}";
    }

    private static bool UnderParams(string where)
    {
        const string Name = "a property name in ";
        var path = where.StartsWith(Name, StringComparison.Ordinal) ? where[Name.Length..] : where;
        return path == "params" || path.StartsWith("params.", StringComparison.Ordinal) || path.StartsWith("params[", StringComparison.Ordinal);
    }

    private static RequestId? IdOf(JsonElement root)
    {
        if (!root.TryGetProperty("id", out var id))
        {
            return null;
        }

        if (id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var number))
        {
            return new RequestId(number);
        }

        return id.ValueKind == JsonValueKind.String && TextRules.TryGetString(id, out var text) ? new RequestId(text!) : null;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "something else",
    };

    private static JsonTypeInfo TypeInfo<T>() => McpJson.Options.GetTypeInfo(typeof(T));
}
