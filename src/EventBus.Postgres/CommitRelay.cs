using System.Threading.Channels;
using Dapper;
using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Postgres;

/// <summary>
/// Tells this node's <see cref="ICommitObserver"/> about every commit, this node's and other nodes', exactly once and in
/// id order. This node's writer hands over what it just committed; a notification or the backstop timer says only
/// that something may have committed elsewhere, and the relay then reads from the store what follows the last id it
/// passed on: the store is the truth, a notification's payload is never delivered.
/// </summary>
internal sealed class CommitRelay(PostgresDatabase database, ICommitObserver observer) : IAsyncDisposable
{
    private const int PageSize = 512;
    private readonly Channel<Work> _queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private long _watermark;
    private long _subscriptionsVersion;
    private int _localInFlight;
    private long _deferredTip;
    private int _readQueued;
    private Task _loop = Task.CompletedTask;

    /// <summary>The newest id passed on to the observer.</summary>
    public long Watermark => Interlocked.Read(ref _watermark);

    /// <summary>Changes whenever a node changed subscriptions (or the backstop ran, to be safe after a lost notification).</summary>
    public long SubscriptionsVersion => Interlocked.Read(ref _subscriptionsVersion);

    /// <summary>The last failure to read the store (cleared by a good read), for the listener to log.</summary>
    public Exception? LastError { get; private set; }

    public void Start(long tip)
    {
        Interlocked.Exchange(ref _watermark, tip);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// This node's writer is about to send a group (called on the writer loop). Until it reports the commit or the
    /// failure, a notification is not read at once: it is most likely this very group's, which the writer hands over.
    /// </summary>
    public void LocalGroupStarting() => Interlocked.Exchange(ref _localInFlight, 1);

    /// <summary>This node's writer committed (called on the writer loop: only queues).</summary>
    public void OnLocalCommit(PgWriteContext w)
    {
        Interlocked.Exchange(ref _localInFlight, 0);
        if (w.SubscriptionsChanged)
        {
            Interlocked.Increment(ref _subscriptionsVersion);
        }

        if (w.Inserted.Count > 0 || w.QueuedWebhooks.Count > 0 || Interlocked.Read(ref _deferredTip) > 0)
        {
            _queue.Writer.TryWrite(new Work([.. w.Inserted], [.. w.QueuedWebhooks], Backstop: false, Local: true));
        }
    }

    /// <summary>This node's writer failed a group: a notification held back meanwhile is read now.</summary>
    public void OnLocalFailure()
    {
        Interlocked.Exchange(ref _localInFlight, 0);
        if (Interlocked.Read(ref _deferredTip) > 0)
        {
            RequestRead();
        }
    }

    /// <summary>A notification arrived: <c>e:&lt;tip&gt;</c> after events, <c>s:&lt;tip&gt;</c> after a subscription change.</summary>
    public void OnNotify(string payload)
    {
        if (payload.StartsWith("s:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _subscriptionsVersion);
        }

        // The tip it names only spares a read of what this node already passed on or is about to (its own commits).
        var colon = payload.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !long.TryParse(payload.AsSpan(colon + 1), out var tip))
        {
            RequestRead();
            return;
        }

        if (tip <= Watermark)
        {
            return;
        }

        // Held back while a local group is on the wire: its hand-over (or failure) reads whatever it does not cover.
        // The writer clears the flag before it queues the hand-over, so a tip recorded here while the flag is still
        // set is always seen by that hand-over; once the flag is clear, the notification is read at once.
        AtomicMax.Raise(ref _deferredTip, tip);
        if (Interlocked.CompareExchange(ref _localInFlight, 0, 0) == 0)
        {
            RequestRead();
        }
    }

    /// <summary>
    /// Queues a read of what follows the watermark, unless one is queued and not started yet: that one will see this
    /// commit too, so a burst of notifications from a busy node costs one read, not one each.
    /// </summary>
    private void RequestRead()
    {
        if (Interlocked.Exchange(ref _readQueued, 1) == 0)
        {
            _queue.Writer.TryWrite(new Work([], [], Backstop: false, Local: false));
        }
    }

    /// <summary>The periodic read: whatever committed unheard, and a wake-up for every webhook with pending deliveries.</summary>
    public void Backstop()
    {
        Interlocked.Increment(ref _subscriptionsVersion);
        _queue.Writer.TryWrite(new Work([], [], Backstop: true, Local: false));
    }

    private async Task RunAsync()
    {
        await foreach (var work in _queue.Reader.ReadAllAsync())
        {
            try
            {
                await HandleAsync(work);
                LastError = null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The database is unreachable: the listener's reconnect or the next backstop reads again.
                LastError = ex;
            }
        }
    }

    private async Task HandleAsync(Work work)
    {
        var events = work.Events;
        if (events.Length > 0 && events[^1].Id > Watermark)
        {
            if (events[0].Id == Watermark + 1)
            {
                Pass(events);
            }
            else
            {
                // Another node committed in between and its notification has not come yet: read the stretch.
                await CatchUpAsync(events[^1].Id);
            }
        }
        else if (!work.Local)
        {
            Interlocked.Exchange(ref _readQueued, 0);
            Interlocked.Exchange(ref _deferredTip, 0);
            await CatchUpAsync(long.MaxValue);
        }

        if (work.Local && Interlocked.Exchange(ref _deferredTip, 0) > Watermark)
        {
            await CatchUpAsync(long.MaxValue);
        }

        if (work.Webhooks.Length > 0)
        {
            observer.OnDeliveriesQueued(work.Webhooks);
        }

        if (work.Backstop)
        {
            var pending = await database.ReadAsync(c => c.QueryAsync<string>(
                "SELECT DISTINCT webhook_id FROM webhook_deliveries WHERE status = 0"));
            var ids = pending.ToArray();
            if (ids.Length > 0)
            {
                observer.OnDeliveriesQueued(ids);
            }
        }
    }

    private async Task CatchUpAsync(long upTo)
    {
        while (Watermark < upTo)
        {
            var after = Watermark;
            var (events, hasMore, webhooks) = await database.ReadAsync(c => PgEvents.FollowAsync(c, after, PageSize));
            if (events.Count == 0)
            {
                return;
            }

            Pass([.. events]);
            if (webhooks.Length > 0)
            {
                observer.OnDeliveriesQueued(webhooks);
            }

            if (!hasMore)
            {
                return;
            }
        }
    }

    private void Pass(BusEvent[] events)
    {
        var start = Array.FindIndex(events, e => e.Id > Watermark);
        if (start < 0)
        {
            return;
        }

        var fresh = start == 0 ? events : events[start..];
        observer.OnCommitted(fresh);
        Interlocked.Exchange(ref _watermark, fresh[^1].Id);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    /// <summary>What the loop does next: pass on a local commit (<paramref name="Local"/>), or read what follows the watermark.</summary>
    private sealed record Work(BusEvent[] Events, string[] Webhooks, bool Backstop, bool Local);
}
