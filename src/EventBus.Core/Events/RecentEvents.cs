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
    private readonly long _maxBytes;
    private readonly Lock _lock = new();
    private long _low;
    private long _high;
    private long _bytes;

    /// <param name="capacity">How many of the newest events are kept at most.</param>
    /// <param name="maxBytes">About how much memory they may take at most (large payloads leave the window sooner).</param>
    public RecentEvents(int capacity = 8192, long maxBytes = 32L * 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _ring = new BusEvent?[capacity];
        _maxBytes = maxBytes;
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
                    Array.Clear(_ring);
                    _bytes = 0;
                    _low = e.Id;
                }
                else if (_high - _low + 1 == _ring.Length)
                {
                    Evict(); // the slot the new event takes
                }

                _ring[e.Id % _ring.Length] = e;
                _bytes += Size(e);
                _high = e.Id;
                while (_bytes > _maxBytes && _low < _high)
                {
                    Evict();
                }
            }
        }
    }

    /// <summary>
    /// Drops the events at or below <paramref name="through"/> (retention deleted events up to there), so a reader from
    /// before it goes to the store, which has what was kept and no more.
    /// </summary>
    public void Forget(long through)
    {
        lock (_lock)
        {
            while (_high != 0 && _low <= through && _low < _high)
            {
                Evict();
            }
        }
    }

    private void Evict()
    {
        var slot = _low % _ring.Length;
        _bytes -= Size(_ring[slot]!);
        _ring[slot] = null;
        _low++;
    }

    // Strings are UTF-16: two bytes a character, plus the object and its other fields.
    private static long Size(BusEvent e) =>
        256 + 2L * (e.Payload.Length + e.EventType.Length + e.Channel.Length + e.SessionId.Length + (e.Title?.Length ?? 0));

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
