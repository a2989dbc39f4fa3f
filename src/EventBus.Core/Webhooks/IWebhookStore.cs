using EventBus.Core.Events;

namespace EventBus.Core.Webhooks;

/// <summary>
/// Webhooks, their outbox and the ingest idempotency keys. The store that commits events also writes their
/// deliveries: every event matching an active webhook gets a pending delivery in the same transaction.
/// </summary>
public interface IWebhookStore
{

    /// <summary>Stores a new webhook (active).</summary>
    Task AddWebhookAsync(Webhook webhook, CancellationToken cancellationToken);

    /// <summary>A webhook by id (not unregistered ones).</summary>
    Task<Webhook?> GetWebhookAsync(string webhookId, CancellationToken cancellationToken);

    /// <summary>Webhooks, oldest first; only active ones when <paramref name="activeOnly"/>.</summary>
    Task<IReadOnlyList<Webhook>> ListWebhooksAsync(bool activeOnly, CancellationToken cancellationToken);

    /// <summary>Turns a webhook on or off (on clears its failure state); false if there is no such webhook.</summary>
    Task<bool> SetWebhookActiveAsync(string webhookId, bool active, string? reason, CancellationToken cancellationToken);

    /// <summary>Unregisters a webhook and cancels its pending deliveries; false if there is no such webhook.</summary>
    Task<bool> RemoveWebhookAsync(string webhookId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>For each webhook with pending deliveries: how many, and when the oldest of them was queued.</summary>
    Task<IReadOnlyDictionary<string, PendingSummary>> PendingSummaryAsync(CancellationToken cancellationToken);

    /// <summary>The oldest pending deliveries of a webhook, in event order, with their events.</summary>
    Task<IReadOnlyList<PendingDelivery>> NextDeliveriesAsync(string webhookId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Logs an attempt and moves the delivery on. A failure starts (or continues) the webhook's failing period; if
    /// the outcome is <see cref="AttemptOutcome.Gone"/>, or the webhook has been failing for
    /// <paramref name="disableAfter"/>, the webhook is disabled and <paramref name="disabledEvent"/> is stored, all
    /// in one transaction.
    /// </summary>
    Task<AttemptResult> RecordAttemptAsync(
        AttemptRecord attempt, TimeSpan disableAfter, Func<WebhookDisabling, NewEvent> disabledEvent, CancellationToken cancellationToken);

    /// <summary>Deliveries, newest first.</summary>
    Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(DeliveryQuery query, CancellationToken cancellationToken);

    /// <summary>The attempts of these deliveries, oldest first.</summary>
    Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(IReadOnlyList<long> deliveryIds, CancellationToken cancellationToken);

    /// <summary>Queues a delivery again from the start of the schedule; null if there is no such delivery.</summary>
    Task<Delivery?> RedeliverAsync(long deliveryId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deliveries waiting to be sent (all webhooks), and when the oldest of them was queued.</summary>
    Task<OutboxStats> GetOutboxStatsAsync(CancellationToken cancellationToken);

    /// <summary>Deletes expired idempotency keys and finished deliveries (with their attempts) older than the cutoff.</summary>
    Task<(int Keys, int Deliveries)> PruneAsync(DateTimeOffset now, DateTimeOffset finishedBefore, CancellationToken cancellationToken);
}

/// <summary>The outbox at a glance: pending deliveries and the queue time of the oldest (null when none is pending).</summary>
public sealed record OutboxStats(long Pending, DateTimeOffset? OldestPendingSince);
