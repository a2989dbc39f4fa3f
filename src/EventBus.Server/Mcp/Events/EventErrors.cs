using System.Text.Json.Nodes;

namespace EventBus.Server.Mcp.Events;

/// <summary>
/// The error codes of the MCP Events draft (general-purpose codes in the JSON-RPC server range, each with a typed
/// <c>data</c>), raised by the handlers and written as the request's JSON-RPC error.
/// </summary>
internal sealed class EventsException(int code, string message, JsonObject? data = null) : Exception(message)
{
    public const int InvalidParams = -32602;
    public const int NotFound = -32011;
    public const int Forbidden = -32012;
    public const int ResourceExhausted = -32013;
    public const int Unsupported = -32014;
    public const int CallbackEndpoint = -32015;

    public int Code { get; } = code;

    public JsonObject? ErrorData { get; } = data;

    public static EventsException Invalid(string message) => new(InvalidParams, message);

    public static EventsException UnknownEvent(string name) =>
        new(NotFound, $"NotFound: no event type \"{name}\"; events/list names the event types of this server.",
            new JsonObject { ["kind"] = "event", ["name"] = name });

    public static EventsException NoSuchSubscription() =>
        new(NotFound, "NotFound: no webhook subscription matches this principal, delivery.url, name and arguments.",
            new JsonObject { ["kind"] = "subscription" });

    public static EventsException Refused(string reason) =>
        new(Forbidden, $"Forbidden: {reason}", new JsonObject { ["reason"] = reason });

    public static EventsException Exhausted(string limit, int max, string detail) =>
        new(ResourceExhausted, $"ResourceExhausted: the {limit} limit ({max}) is reached: {detail}.", new JsonObject { ["limit"] = limit, ["max"] = max });

    public static EventsException CallbackEndpointError(string reason) =>
        new(CallbackEndpoint,
            $"CallbackEndpointError: the callback endpoint failed verification ({reason}). It must answer the signed verification POST " +
            "{\"type\":\"verification\",\"challenge\":\"...\"} with 2xx and the body {\"challenge\":\"<the same value>\"}.",
            new JsonObject { ["reason"] = reason });

    public static EventsException UnsupportedMode(string mode) =>
        new(Unsupported, $"Unsupported: event type \"{BusEventType.Name}\" is not delivered by {mode} here; events/list names its delivery modes.",
            new JsonObject { ["feature"] = "deliveryMode", ["value"] = mode });
}
