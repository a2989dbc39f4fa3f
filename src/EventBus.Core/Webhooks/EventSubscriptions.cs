namespace EventBus.Core.Webhooks;

/// <summary>
/// What makes a webhook an MCP Events subscription: the subscription key beside its url (<see cref="Principal"/>,
/// <see cref="Name"/>, <see cref="Arguments"/> as canonical JSON) and its expiry. Its webhook id is derived from the key.
/// </summary>
public sealed record EventSubscription(string Principal, string Name, string Arguments, DateTimeOffset ExpiresAt);

/// <summary>
/// An <c>events/subscribe</c> to store: the webhook row (id derived from the key, url, the channel prefix and event
/// types the outbox matches on, the client's secret protected) and where delivery starts when the subscription is new
/// (or had lapsed): after <see cref="Cursor"/> (null: from now), skipping events older than <see cref="ReplayFloor"/>,
/// and at most <see cref="ReplayCeiling"/> events back.
/// </summary>
public sealed record SubscriptionWrite(
    string Id,
    string Url,
    string Channel,
    IReadOnlyList<string>? EventTypes,
    byte[] ProtectedSecret,
    EventSubscription Subscription,
    DateTimeOffset Now,
    long? Cursor,
    DateTimeOffset? ReplayFloor,
    int ReplayCeiling,
    int MaxPerPrincipal,
    int MaxTotal);

/// <summary>How an <c>events/subscribe</c> went.</summary>
public enum SubscribeStatus
{
    /// <summary>A new subscription (or one that had lapsed, started afresh).</summary>
    Created,

    /// <summary>A live subscription: its secret and expiry replaced, delivery reactivated.</summary>
    Refreshed,

    /// <summary>Refused: the principal has <see cref="SubscriptionWrite.MaxPerPrincipal"/> live subscriptions.</summary>
    PrincipalLimit,

    /// <summary>Refused: the bus has <see cref="SubscriptionWrite.MaxTotal"/> live subscriptions.</summary>
    TotalLimit,
}

/// <summary>
/// The outcome: <see cref="Watermark"/> is the safe-to-persist cursor (every event of the subscription at or before it
/// was delivered or given up); <see cref="Truncated"/> when delivery starts later than the cursor asked for;
/// <see cref="Before"/> is the webhook as it was before a refresh (for the delivery status).
/// </summary>
public sealed record SubscribeResult(SubscribeStatus Status, long Watermark, bool Truncated, Webhook? Before);

/// <summary>
/// MCP Events webhook subscriptions, kept as webhooks of their own kind so the outbox, the dispatcher's lanes, retries
/// and dead letters serve them unchanged. Implemented by each store's webhook store.
/// </summary>
public interface IEventSubscriptionStore
{
    /// <summary>Creates or refreshes a subscription, in one transaction with its replay and the limit checks.</summary>
    Task<SubscribeResult> SubscribeAsync(SubscriptionWrite write, CancellationToken cancellationToken);

    /// <summary>Ends a live subscription of this principal and cancels its pending deliveries; false when there is none.</summary>
    Task<bool> UnsubscribeAsync(string id, string principal, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Ends every subscription whose expiry is at or before <paramref name="now"/>; returns their ids.</summary>
    Task<IReadOnlyList<string>> RemoveExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks a pending delivery cancelled without sending it (the event is not for its subscription).</summary>
    Task SkipDeliveryAsync(long deliveryId, string reason, CancellationToken cancellationToken);
}
