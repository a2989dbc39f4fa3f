namespace EventBus.Core.Webhooks;

/// <summary>
/// Which events a webhook receives: the channel matches exactly or by prefix (<c>session:</c> matches every direct
/// message; empty matches every channel), and the event type is one of <see cref="EventTypes"/> (none: every type).
/// </summary>
public sealed class WebhookFilter
{
    private readonly HashSet<string>? _types;

    /// <summary>A filter; <paramref name="channel"/> empty and <paramref name="eventTypes"/> null or empty match everything.</summary>
    public WebhookFilter(string channel, IReadOnlyList<string>? eventTypes)
    {
        Channel = channel;
        EventTypes = eventTypes is { Count: > 0 } ? eventTypes : null;
        _types = EventTypes is null ? null : new HashSet<string>(EventTypes, StringComparer.Ordinal);
    }

    /// <summary>The channel prefix ("" for all).</summary>
    public string Channel { get; }

    /// <summary>The event types, or null for all.</summary>
    public IReadOnlyList<string>? EventTypes { get; }

    /// <summary>True when an event on <paramref name="channel"/> of <paramref name="eventType"/> is delivered.</summary>
    public bool Matches(string channel, string eventType) =>
        channel.StartsWith(Channel, StringComparison.Ordinal) && (_types is null || _types.Contains(eventType));
}
