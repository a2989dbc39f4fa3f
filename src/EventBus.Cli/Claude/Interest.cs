using System.Globalization;
using System.Text.Json;
using EventBus.Cli.Client;
using EventBus.Core.Bus;
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
        if (result.ValueKind != JsonValueKind.Object || EventJson.Error(result) is not null)
        {
            return [];
        }

        var list = new List<(ChannelPattern, SignalLevel)>();
        foreach (var item in Reply.Read(result, CliJson.Default.SubscriptionsReply).Subscriptions ?? [])
        {
            // The implicit one is the direct channel: always pushed anyway.
            if (!item.Implicit && item.Channel is { } pattern && SignalLevels.TryParse(item.MinLevel, out var min))
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
    public static BusEvent ToBusEvent(JsonElement e) => ToBusEvent(Reply.Read(e, CliJson.Default.EventReply));

    public static BusEvent ToBusEvent(EventReply e)
    {
        _ = DateTimeOffset.TryParse(e.Timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp);
        SignalLevels.TryParse(e.SignalLevel, out var level);
        return new BusEvent(e.Id, e.EventType ?? "", e.Payload ?? "", e.SessionId ?? "", timestamp, e.Channel ?? "", e.CorrelationId, level, e.Title, e.Tags);
    }

    public static IReadOnlyList<BusEvent> Events(JsonElement getEventsResult) =>
        getEventsResult.ValueKind == JsonValueKind.Object && EventJson.Error(getEventsResult) is null
            ? [.. (Reply.Read(getEventsResult, CliJson.Default.EventsReply).Events ?? []).Select(ToBusEvent).OrderBy(e => e.Id)]
            : [];

    /// <summary>The <c>error</c> of a result object, if it carries one.</summary>
    public static string? Error(JsonElement result) => Reply.ErrorOf(result);
}
