using System.Text.Json.Serialization;

namespace EventBus.Server.Webhooks;

// Tool results. register_webhook, list_webhooks, set_webhook_active and unregister_webhook have the agent-event-bus
// contract's keys (extra keys are only ever added, never renamed).

/// <summary><c>register_webhook</c>: the contract's keys, plus <c>secret</c> once, when it was generated.</summary>
internal sealed record RegisterWebhookReply(string WebhookId, string Url, string Channel, IReadOnlyList<string>? EventTypes, string CreatedAt)
{
    /// <summary>The generated secret: shown here once and never again.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Secret { get; init; }

    /// <summary>A reminder that the secret will not be shown again.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Hint { get; init; }
}

/// <summary>One row of <c>list_webhooks</c> (never the secret).</summary>
internal sealed record WebhookReply(
    string WebhookId, string Url, string Channel, IReadOnlyList<string>? EventTypes, bool Active, string CreatedAt, bool HasSecret)
{
    /// <summary>Why it was disabled (410 Gone, days of failures, or by hand).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DisabledReason { get; init; }

    /// <summary>When its current run of failures began.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FailingSince { get; init; }

    /// <summary>Deliveries waiting to go out.</summary>
    public int PendingDeliveries { get; init; }

    /// <summary>When the oldest pending delivery was queued (absent when none is pending).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OldestPendingAt { get; init; }

    /// <summary>How long the oldest pending delivery has waited: a stuck endpoint shows here.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? OldestPendingAgeSeconds { get; init; }

    /// <summary>Set for an MCP Events subscription (made with events/subscribe, not register_webhook): whose, on what, until when.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public EventSubscriptionReply? Subscription { get; init; }
}

/// <summary><c>set_webhook_active</c>'s result.</summary>
internal sealed record SetWebhookActiveReply(bool Success, string WebhookId, bool Active);

/// <summary><c>unregister_webhook</c>'s result.</summary>
internal sealed record UnregisterWebhookReply(bool Success, string WebhookId);

/// <summary>The not-found shape of the webhook tools: <c>{success: false, error: "Webhook not found", webhook_id}</c>.</summary>
internal sealed record WebhookNotFound(bool Success, string Error, string WebhookId);

/// <summary><c>list_deliveries</c>' result.</summary>
internal sealed record DeliveriesReply(IReadOnlyList<DeliveryReply> Deliveries, int Count);

/// <summary>One delivery with its attempts.</summary>
internal sealed record DeliveryReply(
    string DeliveryId,
    string WebhookId,
    long EventId,
    string EventType,
    string Channel,
    string Status,
    int Attempts,
    string CreatedAt,
    string? NextAttemptAt,
    string? LastAttemptAt,
    int? LastStatusCode,
    string? LastError,
    string? DeliveredAt,
    IReadOnlyList<AttemptReply> AttemptLog);

/// <summary>One attempt of a delivery.</summary>
internal sealed record AttemptReply(int Attempt, string At, int? StatusCode, string? Error, double DurationMs);

/// <summary><c>redeliver</c>'s result.</summary>
internal sealed record RedeliverReply(bool Success, string DeliveryId, string WebhookId, long EventId, string Status, string NextAttemptAt)
{
    /// <summary>Set when the webhook is inactive (the delivery waits until it is re-enabled).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Hint { get; init; }
}

/// <summary><c>redeliver</c>'s not-found shape.</summary>
internal sealed record DeliveryNotFound(bool Success, string Error, string DeliveryId);

/// <summary>An MCP Events subscription as list_webhooks shows it: its principal, event name, arguments and expiry.</summary>
internal sealed record EventSubscriptionReply(string Principal, string Name, string Arguments, string ExpiresAt);
