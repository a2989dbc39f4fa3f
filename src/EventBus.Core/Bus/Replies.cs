using System.Text.Json.Serialization;

namespace EventBus.Core.Bus;

// The result shapes of the agent-event-bus contract. Property names become snake_case on the wire
// (session_id, next_cursor, ...); optional keys are omitted when null, as the old server did.

/// <summary><c>register_session</c>'s result.</summary>
public sealed record RegisterReply(
    string SessionId, string DisplayId, string Name, string Machine, string Cwd, string Repo,
    int ActiveSessions, string Cursor, bool Resumed, string Tip);

/// <summary>One row of <c>list_sessions</c>.</summary>
public sealed record SessionReply(
    string SessionId, string DisplayId, string Name, string Machine, string Repo, string Cwd, string? ClientId,
    string RegisteredAt, string LastHeartbeat, double AgeSeconds, IReadOnlyList<string> SubscribedChannels);

/// <summary>One row of <c>list_channels</c>.</summary>
public sealed record ChannelReply(string Channel, int Subscribers);

/// <summary><c>publish_event</c>'s result; the session_* keys appear only when the publisher is deleted.</summary>
public sealed record PublishReply(long EventId, string EventType, string Payload, string Channel, string SignalLevel)
{
    /// <summary>Present when set.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CorrelationId { get; init; }

    /// <summary>True when the publisher's session was unregistered or expired (the event is stored anyway).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? SessionDeleted { get; init; }

    /// <summary>The deleted publisher.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SessionId { get; init; }

    /// <summary>The deleted publisher's display id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DisplayId { get; init; }

    /// <summary>When it was deleted.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DeletedAt { get; init; }

    /// <summary>What to do about it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Hint { get; init; }
}

/// <summary>An event as <c>get_events</c> returns it.</summary>
public sealed record EventReply(
    long Id, string EventType, string Payload, string SessionId, string Timestamp, string Channel,
    string? CorrelationId, string SignalLevel)
{
    /// <summary>Present when set.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Title { get; init; }

    /// <summary>Present when set.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Tags { get; init; }
}

/// <summary><c>get_events</c>'s result.</summary>
public sealed record EventsReply(IReadOnlyList<EventReply> Events, string NextCursor, bool HasMore)
{
    /// <summary>
    /// True when retention deleted events after the cursor read from: the events are what is left. Absent otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Truncated { get; init; }

    /// <summary>With <see cref="Truncated"/>: the first cursor from which the history is whole (nothing after it was deleted).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FirstAvailableCursor { get; init; }
}

/// <summary><c>ack_events</c>'s result.</summary>
public sealed record AckReply(bool Success, string SessionId, string Cursor, string? PreviousCursor);

/// <summary><c>unregister_session</c>'s result.</summary>
public sealed record UnregisterReply(bool Success, string SessionId, string DisplayId, int ActiveSessions);

/// <summary><c>subscribe</c>'s result.</summary>
public sealed record SubscriptionReply(bool Success, string SessionId, string Channel, string MinLevel);

/// <summary><c>unsubscribe</c>'s result.</summary>
public sealed record UnsubscribeReply(bool Success, string SessionId, string Channel);

/// <summary>One pushed channel pattern; <c>implicit</c> for the session's own direct channel.</summary>
public sealed record SubscriptionEntry(string Channel, string MinLevel, bool Implicit);

/// <summary><c>list_subscriptions</c>' result.</summary>
public sealed record SubscriptionsReply(string SessionId, IReadOnlyList<SubscriptionEntry> Subscriptions);

/// <summary><c>notify</c>'s result.</summary>
public sealed record NotifyReply(bool Success, string Title, string Message);

/// <summary>
/// A refusal the tool call returns as its result (the call itself succeeds): <c>{"error": "...", ...}</c>.
/// Detail keys are written as given (snake_case).
/// </summary>
public sealed record BusError(string Error)
{
    /// <summary>Extra keys beside <c>error</c>.</summary>
    [JsonExtensionData]
    public Dictionary<string, object?> Details { get; init; } = [];
}
