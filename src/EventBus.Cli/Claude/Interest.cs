using System.Globalization;
using System.Text.Json;
using EventBus.Core.Channels;
using EventBus.Core.Events;
using EventBus.Server.Push;

namespace EventBus.Cli.Claude;

/// <summary>
/// What concerns one session, by the bus's own rules. <see cref="Pushes"/> is the server's push rule
/// (<c>PushService.Wants</c>: never its own events, always its direct messages, else a subscription at or above its
/// level), used by the channel. <see cref="IsUrgent"/> is what the Stop and rewake hooks act on: what would be
/// pushed, plus actionable events on the channels the session hears anyway (<c>all</c>, its repo, its machine).
/// </summary>
internal sealed class Interest(string sessionId, string repo, string machine, IReadOnlyList<(ChannelPattern Pattern, SignalLevel MinLevel)> subscriptions)
{
    private readonly IReadOnlyList<string> _heard = ChannelName.ImpliedSubscriptions(sessionId, repo, machine);

    public string SessionId { get; } = sessionId;

    public IReadOnlyList<(ChannelPattern Pattern, SignalLevel MinLevel)> Subscriptions { get; } = subscriptions;

    /// <summary>Reads the explicit subscriptions out of a <c>list_subscriptions</c> result.</summary>
    public static IReadOnlyList<(ChannelPattern, SignalLevel)> ParseSubscriptions(JsonElement result)
    {
        var list = new List<(ChannelPattern, SignalLevel)>();
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty("subscriptions", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return list;
        }

        foreach (var item in items.EnumerateArray())
        {
            if (item.TryGetProperty("implicit", out var implicitFlag) && implicitFlag.ValueKind == JsonValueKind.True)
            {
                continue; // The direct channel: always pushed anyway.
            }

            if (item.TryGetProperty("channel", out var channel) && channel.GetString() is { } pattern &&
                item.TryGetProperty("min_level", out var level) && SignalLevels.TryParse(level.GetString(), out var min))
            {
                list.Add((ChannelPattern.Parse(pattern), min));
            }
        }

        return list;
    }

    public bool IsOwn(BusEvent e) => e.SessionId == SessionId;

    public bool IsDirected(BusEvent e) => e.Channel == ChannelName.Direct(SessionId);

    /// <summary>The server's push rule, exactly.</summary>
    public bool Pushes(BusEvent e) => PushService.Wants(e, SessionId, Subscriptions);

    /// <summary>Worth keeping the agent working for, or waking it: pushed, or actionable where it listens.</summary>
    public bool IsUrgent(BusEvent e) =>
        !IsOwn(e) && (Pushes(e) || (e.SignalLevel == SignalLevel.Actionable && _heard.Contains(e.Channel, StringComparer.Ordinal)));
}

/// <summary>Events as the tools and the stream send them (<c>get_events</c>' event objects), read back into Core's type.</summary>
internal static class EventJson
{
    public static BusEvent ToBusEvent(JsonElement e)
    {
        string Str(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        string? Opt(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        var id = e.GetProperty("id") is { ValueKind: JsonValueKind.Number } n ? n.GetInt64() : long.Parse(e.GetProperty("id").GetString()!, CultureInfo.InvariantCulture);
        _ = DateTimeOffset.TryParse(Str("timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp);
        SignalLevels.TryParse(Str("signal_level"), out var level);
        IReadOnlyList<string>? tags = e.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
            ? t.EnumerateArray().Select(x => x.GetString() ?? "").ToList()
            : null;
        return new BusEvent(id, Str("event_type"), Str("payload"), Str("session_id"), timestamp, Str("channel"), Opt("correlation_id"), level, Opt("title"), tags);
    }

    public static IReadOnlyList<BusEvent> Events(JsonElement getEventsResult) =>
        getEventsResult.ValueKind == JsonValueKind.Object && getEventsResult.TryGetProperty("events", out var events) && events.ValueKind == JsonValueKind.Array
            ? events.EnumerateArray().Select(ToBusEvent).OrderBy(e => e.Id).ToList()
            : [];

    /// <summary>The <c>error</c> of a result object, if it carries one.</summary>
    public static string? Error(JsonElement result) =>
        result.ValueKind == JsonValueKind.Object && result.TryGetProperty("error", out var error) ? error.ToString() : null;
}
