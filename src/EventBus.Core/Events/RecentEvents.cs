using EventBus.Core.Store;

namespace EventBus.Core.Events;

/// <summary>
/// The newest committed events, in memory, fed by the store's writer in commit order. Push loops (one per open
/// stream) read what was just committed from here instead of each querying the database on every wake-up; anything
/// older than the window, or anything the window cannot vouch for, is read from the store as before.
/// </summary>
public sealed class RecentEvents
{
    private readonly BusEvent?[] _ring;
    private readonly Lock _lock = new();
    private long _low;
    private long _high;

    /// <param name="capacity">How many of the newest events are kept.</param>
    public RecentEvents(int capacity = 8192)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new BusEvent?[capacity];
    }

    /// <summary>The newest id held (0 when empty).</summary>
    public long High
    {
        get
        {
            lock (_lock)
            {
                return _high;
            }
        }
    }

    /// <summary>
    /// Adds committed events (from the writer, after the commit, in id order). The window only vouches for an
    /// unbroken run of ids: an id that does not follow the previous one starts the window again at that id.
    /// </summary>
    public void Add(IReadOnlyList<BusEvent> committed)
    {
        lock (_lock)
        {
            foreach (var e in committed)
            {
                if (_high == 0 || e.Id != _high + 1)
                {
                    _low = e.Id;
                }

                _ring[e.Id % _ring.Length] = e;
                _high = e.Id;
                if (_high - _low + 1 > _ring.Length)
                {
                    _low = _high - _ring.Length + 1;
                }
            }
        }
    }

    /// <summary>
    /// The events after <paramref name="after"/>, oldest first, at most <paramref name="limit"/>, when the window holds
    /// every one of them; null when it cannot (they are older than the window), and then the store must be asked.
    /// The page's tip is the newest event held: every committed event up to it is in the window.
    /// </summary>
    public EventPage? TryRead(long after, int limit)
    {
        lock (_lock)
        {
            if (_high == 0 || after + 1 < _low)
            {
                return null;
            }

            if (after >= _high)
            {
                return new EventPage([], false, _high);
            }

            var last = Math.Min(_high, after + limit);
            var events = new BusEvent[last - after];
            for (var id = after + 1; id <= last; id++)
            {
                events[id - after - 1] = _ring[id % _ring.Length]!;
            }

            return new EventPage(events, last < _high, _high);
        }
    }
}
