using EventBus.Core.Events;

namespace EventBus.Core.Webhooks;

/// <summary>A registered webhook. The secret is stored only in protected (encrypted) form.</summary>
public sealed record Webhook(
    string WebhookId,
    string Url,
    string Channel,
    IReadOnlyList<string>? EventTypes,
    bool Active,
    DateTimeOffset CreatedAt,
    byte[] ProtectedSecret,
    DateTimeOffset? FailingSince,
    string? DisabledReason)
{
    /// <summary>
    /// Set when this webhook is an MCP Events subscription (<c>events/subscribe</c>): who subscribed, to what, and until
    /// when. Null for a webhook registered with register_webhook.
    /// </summary>
    public EventSubscription? Subscription { get; init; }
}

/// <summary>Where a delivery is.</summary>
public enum DeliveryStatus
{
    /// <summary>Waiting for its next attempt.</summary>
    Pending = 0,

    /// <summary>The receiver answered 2xx.</summary>
    Delivered = 1,

    /// <summary>Every attempt of the schedule failed (a dead letter; <c>redeliver</c> queues it again).</summary>
    Failed = 2,

    /// <summary>Its webhook was unregistered before it went out.</summary>
    Cancelled = 3,
}

/// <summary>Wire names of delivery statuses.</summary>
public static class DeliveryStatuses
{
    /// <summary>The accepted names.</summary>
    public static readonly IReadOnlyList<string> Names = ["pending", "delivered", "failed", "cancelled"];

    /// <summary>The wire name.</summary>
    public static string ToWire(this DeliveryStatus status) => Names[(int)status];

    /// <summary>Parses a wire name.</summary>
    public static bool TryParse(string? value, out DeliveryStatus status)
    {
        var index = value is null ? -1 : Names.ToList().IndexOf(value);
        status = (DeliveryStatus)Math.Max(index, 0);
        return index >= 0;
    }
}

/// <summary>One event on its way to one webhook.</summary>
/// <param name="Attempts">Attempts made so far, in total.</param>
/// <param name="RetryIndex">Attempts made since it was (re)queued: its position in the retry schedule.</param>
public sealed record Delivery(
    long DeliveryId,
    string WebhookId,
    long EventId,
    DeliveryStatus Status,
    int Attempts,
    int RetryIndex,
    DateTimeOffset NextAttemptAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastAttemptAt,
    int? LastStatusCode,
    string? LastError,
    DateTimeOffset? DeliveredAt,
    string EventType,
    string Channel)
{
    /// <summary>The id receivers see in <c>webhook-id</c>: the same on every attempt.</summary>
    public string MessageId => FormatId(DeliveryId);

    /// <summary><c>msg_&lt;n&gt;</c>.</summary>
    public static string FormatId(long deliveryId) => "msg_" + deliveryId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads <c>msg_42</c> or <c>42</c>.</summary>
    public static bool TryParseId(string? text, out long deliveryId)
    {
        deliveryId = 0;
        if (text is null)
        {
            return false;
        }

        var digits = text.StartsWith("msg_", StringComparison.Ordinal) ? text[4..] : text;
        return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out deliveryId)
            && deliveryId > 0;
    }
}

/// <summary>A webhook's queue: its pending deliveries and when the oldest was queued (a stuck lane shows here).</summary>
public sealed record PendingSummary(int Count, DateTimeOffset OldestCreatedAt);

/// <summary>A pending delivery with the event it carries.</summary>
public sealed record PendingDelivery(Delivery Delivery, BusEvent Event)
{
    /// <summary>The traceparent kept with the event when it was published traced; an attempt continues that trace.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>One attempt, as logged.</summary>
public sealed record DeliveryAttempt(long DeliveryId, int Attempt, DateTimeOffset At, int? StatusCode, string? Error, double DurationMs);

/// <summary>What an attempt means for the delivery and its webhook.</summary>
public enum AttemptOutcome
{
    /// <summary>2xx: done; the webhook is healthy again.</summary>
    Delivered,

    /// <summary>Failed; try again at <see cref="AttemptRecord.NextAttemptAt"/>.</summary>
    RetryLater,

    /// <summary>Failed and the schedule is used up: a dead letter.</summary>
    GiveUp,

    /// <summary>410 Gone: the receiver is gone for good; the webhook is disabled at once.</summary>
    Gone,

    /// <summary>
    /// A permanent rejection (see <see cref="RetrySchedule.IsPermanentRejection"/>): a dead letter at once, so the
    /// deliveries behind it go on; <c>redeliver</c> replays it.
    /// </summary>
    Rejected,
}

/// <summary>An attempt to record.</summary>
public sealed record AttemptRecord(
    long DeliveryId,
    string WebhookId,
    DateTimeOffset At,
    int? StatusCode,
    string? Error,
    double DurationMs,
    AttemptOutcome Outcome,
    DateTimeOffset? NextAttemptAt);

/// <summary>What recording an attempt did to the webhook: disabled (why), and the <c>webhook_disabled</c> event stored.</summary>
public sealed record AttemptResult(bool Disabled, string? Reason, BusEvent? DisabledEvent);

/// <summary>Why and when a webhook was disabled by the dispatcher; the store turns it into an event.</summary>
public sealed record WebhookDisabling(Webhook Webhook, string Reason, DateTimeOffset At);

/// <summary>Which deliveries to list: newest first.</summary>
public sealed record DeliveryQuery(string? WebhookId, DeliveryStatus? Status, int Limit);
