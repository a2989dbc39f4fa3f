using System.Text.Json.Nodes;
using EventBus.Core.Bus;
using EventBus.Core.Channels;
using EventBus.Core.Events;

namespace EventBus.Server.Mcp.Events;

/// <summary>
/// The one event type this server offers, <c>bus.event</c>: every bus event a caller may read (as get_events would
/// show it to the same token), narrowed by a channel name or pattern, event types and a minimum level.
/// </summary>
internal static class BusEventType
{
    public const string Name = "bus.event";

    /// <summary>The <c>events/list</c> entry.</summary>
    public static JsonObject Describe(IReadOnlyList<string> delivery) => new()
    {
        ["name"] = Name,
        ["title"] = "Bus event",
        ["description"] =
            "Fires when an event is committed on the bus (published by an agent, ingested from an external system, or " +
            "a lifecycle event). Narrow it by channel (a name, or a pattern like \"alerts:#\" or \"repo:*\"), event_types " +
            "and min_level. The cursor is the bus's own (the id of the last event read), so it survives server restarts.",
        ["delivery"] = new JsonArray(delivery.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
        ["inputSchema"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["channel"] = new JsonObject
                {
                    ["type"] = "string",
                    ["maxLength"] = BusOptions.MaxNameLength,
                    ["description"] = "A channel name, or a pattern: '*' is one segment, a final '#' any depth (\"alerts:#\"). Omit for every channel.",
                },
                ["event_types"] = new JsonObject
                {
                    ["type"] = "array",
                    ["items"] = new JsonObject { ["type"] = "string" },
                    ["maxItems"] = BusOptions.MaxLimit,
                    ["description"] = "Only these event types. Omit for all.",
                },
                ["min_level"] = new JsonObject
                {
                    ["type"] = "string",
                    ["enum"] = new JsonArray(SignalLevels.Names.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
                    ["description"] = "Drop events quieter than this level: lifecycle < info < actionable.",
                },
            },
            ["additionalProperties"] = false,
        },
        ["payloadSchema"] = PayloadSchema(),
    };

    /// <summary>The bus event as get_events returns it.</summary>
    private static JsonObject PayloadSchema()
    {
        static JsonObject Text(string description) => new() { ["type"] = "string", ["description"] = description };
        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["event_id"] = new JsonObject { ["type"] = "integer", ["description"] = "The event's id (its position in the log)." },
                ["event_type"] = Text("The event type, e.g. help_needed."),
                ["payload"] = Text("The event's text (often JSON)."),
                ["session_id"] = Text("The publishing session."),
                ["timestamp"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                ["channel"] = Text("The channel it was published on."),
                ["correlation_id"] = new JsonObject { ["type"] = new JsonArray("string", "null"), ["description"] = "The thread it belongs to." },
                ["signal_level"] = new JsonObject
                {
                    ["type"] = "string",
                    ["enum"] = new JsonArray(SignalLevels.Names.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
                },
                ["title"] = Text("A short title, when set."),
                ["tags"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
            },
            ["required"] = new JsonArray("event_id", "event_type", "payload", "session_id", "timestamp", "channel", "signal_level"),
        };
    }
}

/// <summary>The arguments of a <c>bus.event</c> subscription, checked.</summary>
internal sealed record BusEventArguments(string? Channel, ChannelPattern? Pattern, IReadOnlySet<string>? EventTypes, SignalLevel? MinLevel)
{
    /// <summary>Parses <c>params.arguments</c>; anything that does not fit the inputSchema is <c>-32602</c>.</summary>
    public static BusEventArguments Parse(JsonNode? arguments)
    {
        if (arguments is null)
        {
            return new BusEventArguments(null, null, null, null);
        }

        if (arguments is not JsonObject fields)
        {
            throw EventsException.Invalid("Invalid params: arguments must be an object (see the inputSchema of bus.event in events/list).");
        }

        string? channel = null;
        ChannelPattern? pattern = null;
        HashSet<string>? types = null;
        SignalLevel? minLevel = null;
        foreach (var (key, value) in fields)
        {
            switch (key)
            {
                case "channel":
                    channel = Text(value, "arguments.channel");
                    try
                    {
                        pattern = ChannelPattern.Parse(channel);
                    }
                    catch (BusValidationException ex)
                    {
                        throw EventsException.Invalid($"Invalid params: arguments.channel: {ex.Message}");
                    }

                    break;
                case "event_types":
                    if (value is not JsonArray list || list.Count > BusOptions.MaxLimit)
                    {
                        throw EventsException.Invalid($"Invalid params: arguments.event_types must be an array of at most {BusOptions.MaxLimit} strings.");
                    }

                    types = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var item in list)
                    {
                        var type = Text(item, "each of arguments.event_types");
                        if (type.Length is 0 or > BusOptions.MaxNameLength || type.Any(char.IsControl))
                        {
                            throw EventsException.Invalid(
                                $"Invalid params: each of arguments.event_types must be 1 to {BusOptions.MaxNameLength} characters without control characters.");
                        }

                        types.Add(type);
                    }

                    break;
                case "min_level":
                    minLevel = SignalLevels.TryParse(Text(value, "arguments.min_level"), out var level)
                        ? level
                        : throw EventsException.Invalid($"Invalid params: arguments.min_level must be one of {string.Join(", ", SignalLevels.Names)}.");
                    break;
                default:
                    throw EventsException.Invalid(
                        $"Invalid params: bus.event has no argument \"{key}\"; its arguments are channel, event_types and min_level.");
            }
        }

        return new BusEventArguments(channel, pattern, types is { Count: > 0 } ? types : null, minLevel);
    }

    /// <summary>Whether an event the caller may see is one this subscription wants.</summary>
    public bool Wants(BusEvent e) =>
        (Pattern is null || Pattern.Matches(e.Channel)) &&
        (EventTypes is null || EventTypes.Contains(e.EventType)) &&
        (MinLevel is null || e.SignalLevel >= MinLevel);

    /// <summary>An exact channel (no wildcard) lets the store filter on it; a pattern is checked per event.</summary>
    public string? ExactChannel => Channel is { } c && !c.Split(':').Any(s => s is "*" or "#") ? c : null;

    private static string Text(JsonNode? value, string what) =>
        value is JsonValue v && v.TryGetValue<string>(out var text)
            ? text
            : throw EventsException.Invalid($"Invalid params: {what} must be a string.");
}
