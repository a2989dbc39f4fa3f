using System.Text.Json.Nodes;
using EventBus.Core.Events;

namespace EventBus.Server.Mcp.Events;

/// <summary>The params every delivery mode shares: <c>{name, arguments, cursor, maxAgeMs?, maxEvents?}</c>, checked.</summary>
internal sealed record Subscription(BusEventArguments Arguments, long? Cursor, TimeSpan? MaxAge, int? MaxEvents)
{
    public static Subscription Parse(JsonNode? parameters)
    {
        if (parameters is not JsonObject fields)
        {
            throw EventsException.Invalid("Invalid params: send {\"name\": \"bus.event\", \"arguments\": {...}, \"cursor\": null}.");
        }

        var name = fields["name"] is JsonValue n && n.TryGetValue<string>(out var text)
            ? text
            : throw EventsException.Invalid("Invalid params: name (the event type, \"bus.event\") is required.");
        if (name != BusEventType.Name)
        {
            throw EventsException.UnknownEvent(name);
        }

        var arguments = BusEventArguments.Parse(fields["arguments"]);
        long? cursor = null;
        if (fields["cursor"] is { } cursorNode)
        {
            cursor = cursorNode is JsonValue c && c.TryGetValue<string>(out var cursorText) && Core.Events.Cursor.TryParse(cursorText, out var position)
                ? position
                : throw EventsException.Invalid(
                    "Invalid params: cursor must be null (start from now) or a cursor this server returned (the decimal string of a bus event id).");
        }

        TimeSpan? maxAge = Whole(fields["maxAgeMs"], "maxAgeMs", 0, long.MaxValue / TimeSpan.TicksPerMillisecond) is { } ms
            ? TimeSpan.FromMilliseconds(ms)
            : null;
        var maxEvents = Whole(fields["maxEvents"], "maxEvents", 1, long.MaxValue) is { } count
            ? (int)Math.Min(count, McpEventsHandler.MaxEvents)
            : (int?)null;
        return new Subscription(arguments, cursor, maxAge, maxEvents);
    }

    private static long? Whole(JsonNode? node, string what, long minimum, long maximum)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue<long>(out var value) && value >= minimum && value <= maximum)
        {
            return value;
        }

        if (node is JsonValue d && d.TryGetValue<double>(out var number) && number == Math.Floor(number) && number >= minimum && number <= maximum)
        {
            return (long)number;
        }

        throw EventsException.Invalid($"Invalid params: {what} must be a whole number of at least {minimum}.");
    }
}
