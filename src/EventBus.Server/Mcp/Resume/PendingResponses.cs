namespace EventBus.Server.Mcp.Resume;

/// <summary>
/// A session's POST streams that the server ended before their answer (SEP-1699 polling), by the stream's priming id.
/// Each answer waits here for a GET that resumes its stream with that id as <c>Last-Event-ID</c>. Bounded per session;
/// an entry nobody is resuming is dropped once it has been untouched (parked, answered, or last resumed) for the expiry,
/// and its call, if still running, is cancelled.
/// </summary>
internal sealed class PendingResponses(int capacity, TimeSpan expiry, TimeProvider time)
{
    private readonly Dictionary<string, PendingResponse> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private bool _closed;

    /// <summary>Answers kept or awaited now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The entry of a POST stream, if it is kept (for diagnostics and tests; a GET claims with <see cref="TryClaim"/>).</summary>
    public PendingResponse? Find(string streamId)
    {
        lock (_lock)
        {
            return _entries.GetValueOrDefault(streamId);
        }
    }

    /// <summary>Raised after an entry is parked, answered, resumed, delivered or dropped.</summary>
    public Core.Events.ChangeSignal Changed { get; } = new();

    /// <summary>Keeps a place for the answer of the POST stream <paramref name="streamId"/>; null when the session is full or closed.</summary>
    public PendingResponse? TryPark(string streamId)
    {
        PendingResponse? parked = null;
        List<PendingResponse> dropped;
        lock (_lock)
        {
            dropped = TakeExpired();
            if (!_closed && _entries.Count < capacity && !_entries.ContainsKey(streamId))
            {
                parked = new PendingResponse(streamId, time.GetTimestamp());
                _entries.Add(streamId, parked);
            }
        }

        Drop(dropped);
        Changed.Notify();
        return parked;
    }

    /// <summary>Hands the answer over once the call has ended (kept until a GET takes it, or it expires).</summary>
    public void Answer(PendingResponse entry, ReadOnlyMemory<byte> frame)
    {
        lock (_lock)
        {
            entry.Touched = time.GetTimestamp();
        }

        entry.SetAnswer(frame);
        Changed.Notify();
    }

    /// <summary>
    /// The entry a GET with <c>Last-Event-ID: <paramref name="streamId"/></c> resumes, claimed for that GET (a newer GET
    /// takes the entry over from an older one, whose <paramref name="claim"/> is cancelled); null when the id is unknown,
    /// expired or already delivered.
    /// </summary>
    public PendingResponse? TryClaim(string streamId, out CancellationToken claim)
    {
        claim = CancellationToken.None;
        PendingResponse? entry;
        List<PendingResponse> dropped;
        lock (_lock)
        {
            dropped = TakeExpired();
            if (_entries.TryGetValue(streamId, out entry))
            {
                claim = entry.Claim();
            }
        }

        Drop(dropped);
        if (entry is not null)
        {
            Changed.Notify();
        }

        return entry;
    }

    /// <summary>
    /// The GET that claimed <paramref name="entry"/> ended: after it wrote and flushed the answer the entry is gone;
    /// otherwise it waits for the next GET (and its expiry starts again).
    /// </summary>
    public void Release(PendingResponse entry, CancellationToken claim, bool delivered)
    {
        lock (_lock)
        {
            if (!entry.Unclaim(claim))
            {
                return; // A newer GET took the entry over.
            }

            entry.Touched = time.GetTimestamp();
            if (delivered)
            {
                _entries.Remove(entry.StreamId);
            }
        }

        if (delivered)
        {
            entry.Dispose();
        }

        Changed.Notify();
    }

    /// <summary>Drops the entry of a call that ended without an answer (cancelled).</summary>
    public void Forget(PendingResponse entry)
    {
        lock (_lock)
        {
            if (!_entries.Remove(entry.StreamId))
            {
                return;
            }
        }

        entry.Abandon();
        Changed.Notify();
    }

    /// <summary>Drops expired entries (cancelling their calls); returns how many.</summary>
    public int Sweep()
    {
        List<PendingResponse> dropped;
        lock (_lock)
        {
            dropped = TakeExpired();
        }

        Drop(dropped);
        return dropped.Count;
    }

    /// <summary>The session closed: every entry is dropped, waiting GETs end, running calls are cancelled.</summary>
    public void Close()
    {
        List<PendingResponse> dropped;
        lock (_lock)
        {
            _closed = true;
            dropped = [.. _entries.Values];
            _entries.Clear();
        }

        Drop(dropped);
    }

    private List<PendingResponse> TakeExpired()
    {
        List<PendingResponse>? expired = null;
        foreach (var entry in _entries.Values)
        {
            if (!entry.IsClaimed && time.GetElapsedTime(entry.Touched) > expiry)
            {
                (expired ??= []).Add(entry);
            }
        }

        if (expired is null)
        {
            return [];
        }

        foreach (var entry in expired)
        {
            _entries.Remove(entry.StreamId);
        }

        return expired;
    }

    private void Drop(List<PendingResponse> dropped)
    {
        foreach (var entry in dropped)
        {
            entry.Abandon();
        }

        if (dropped.Count > 0)
        {
            Changed.Notify();
        }
    }
}

/// <summary>
/// The answer of one POST stream the server ended early: completed with the SSE frame of the JSON-RPC response, or
/// cancelled when it is dropped (expired, session closed, call cancelled).
/// </summary>
internal sealed class PendingResponse(string streamId, long parkedAt) : IDisposable
{
    private readonly TaskCompletionSource<ReadOnlyMemory<byte>> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _abandoned = new();
    private CancellationTokenSource? _claim;

    /// <summary>The POST stream's priming id, which the client resumes with.</summary>
    public string StreamId => streamId;

    /// <summary>The answer's SSE frame, once the call has ended.</summary>
    public Task<ReadOnlyMemory<byte>> Answer => _answer.Task;

    /// <summary>Completes when a GET first resumes the stream.</summary>
    public Task Resumed => _resumed.Task;

    /// <summary>Cancelled when the entry is dropped: the call stops, a waiting GET ends.</summary>
    public CancellationToken Abandoned => _abandoned.Token;

    /// <summary>When the entry was parked, answered or last resumed (a <see cref="TimeProvider"/> timestamp); under the table's lock.</summary>
    internal long Touched { get; set; } = parkedAt;

    /// <summary>Whether a GET holds the entry now; under the table's lock.</summary>
    internal bool IsClaimed => _claim is not null;

    internal void SetAnswer(ReadOnlyMemory<byte> frame) => _answer.TrySetResult(frame);

    internal CancellationToken Claim()
    {
        _claim?.Cancel();
        _claim?.Dispose();
        _claim = new CancellationTokenSource();
        _resumed.TrySetResult();
        return _claim.Token;
    }

    internal bool Unclaim(CancellationToken claim)
    {
        if (_claim is null || _claim.Token != claim)
        {
            return false;
        }

        _claim.Dispose();
        _claim = null;
        return true;
    }

    internal void Abandon()
    {
        _answer.TrySetCanceled();
        try
        {
            _abandoned.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already delivered and disposed.
        }
    }

    public void Dispose() => _abandoned.Dispose();
}
