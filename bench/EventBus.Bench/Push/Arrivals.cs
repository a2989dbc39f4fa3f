using System.Diagnostics;

namespace EventBus.Bench.Push;

/// <summary>
/// What one subscriber received: for each message key (an event id, or a Redis sequence number) the
/// <see cref="Stopwatch"/> timestamp at which its handler ran. A publisher waits on it for a key to arrive.
/// </summary>
internal sealed class Arrivals
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, long> _at = [];
    private readonly List<(long Key, TaskCompletionSource Done)> _waiters = [];
    private long _highest;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _at.Count;
            }
        }
    }

    /// <summary>Records an arrival now (called from the subscriber's handler; keys arrive in increasing order).</summary>
    public void Record(long key)
    {
        var now = Stopwatch.GetTimestamp();
        List<TaskCompletionSource>? done = null;
        lock (_lock)
        {
            _at[key] = now;
            _highest = Math.Max(_highest, key);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Key <= _highest)
                {
                    (done ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        done?.ForEach(d => d.TrySetResult());
    }

    /// <summary>Completes once <paramref name="key"/> (or a later one) has arrived.</summary>
    public Task ReachedAsync(long key)
    {
        lock (_lock)
        {
            if (_highest >= key)
            {
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((key, waiter));
            return waiter.Task;
        }
    }

    /// <summary>The arrival time of <paramref name="key"/>, if it arrived.</summary>
    public bool TryGet(long key, out long timestamp)
    {
        lock (_lock)
        {
            return _at.TryGetValue(key, out timestamp);
        }
    }
}
