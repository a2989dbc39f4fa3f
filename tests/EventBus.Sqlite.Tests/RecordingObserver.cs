using System.Collections.Concurrent;
using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Sqlite.Tests;

/// <summary>An <see cref="ICommitObserver"/> that records what the store told it, in order.</summary>
internal sealed class RecordingObserver : ICommitObserver
{
    public ConcurrentQueue<long> CommittedIds { get; } = new();

    public ConcurrentQueue<string> QueuedWebhooks { get; } = new();

    public void OnCommitted(IReadOnlyList<BusEvent> events)
    {
        foreach (var e in events)
        {
            CommittedIds.Enqueue(e.Id);
        }
    }

    public void OnDeliveriesQueued(IReadOnlyCollection<string> webhookIds)
    {
        foreach (var id in webhookIds)
        {
            QueuedWebhooks.Enqueue(id);
        }
    }
}
