using EventBus.Core.Diagnostics;
using EventBus.Core.Events;
using EventBus.Core.Webhooks;

namespace EventBus.Core.Store;

/// <summary>
/// The bus's <see cref="ICommitObserver"/>: committed events go into the in-memory window first, then the wake-up, so
/// whoever wakes finds them there; queued deliveries wake the webhook lanes that got them.
/// </summary>
public sealed class CommitFanout(RecentEvents recent, CommitSignal signal, DeliverySignal deliveries) : ICommitObserver
{
    /// <inheritdoc />
    public void OnCommitted(IReadOnlyList<BusEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        BusTelemetry.CommitGroupSize.Record(events.Count);
        recent.Add(events);
        signal.Notify(events[^1].Id);
    }

    /// <inheritdoc />
    public void OnDeliveriesQueued(IReadOnlyCollection<string> webhookIds) => deliveries.Notify(webhookIds);
}
