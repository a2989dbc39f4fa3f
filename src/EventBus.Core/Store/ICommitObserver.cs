using EventBus.Core.Events;

namespace EventBus.Core.Store;

/// <summary>
/// What a store tells after each commit: part of the store contract, so every store (and a test) wakes the same
/// consumers the same way. Implementations must be quick and must not throw: stores call them on their write path.
/// A wake-up, never the only copy: consumers read what they deliver from the store or <see cref="RecentEvents"/>.
/// </summary>
public interface ICommitObserver
{
    /// <summary>A commit added <paramref name="events"/> (in id order).</summary>
    void OnCommitted(IReadOnlyList<BusEvent> events);

    /// <summary>A commit queued webhook deliveries for these webhooks.</summary>
    void OnDeliveriesQueued(IReadOnlyCollection<string> webhookIds);
}
