namespace EventBus.Server.Limits;

/// <summary>
/// The stall cut-off for one long-lived connection: each guarded write that makes no progress for the stall timeout
/// means the client stopped reading, and <c>cutOff</c> runs (it aborts the connection, which ends the pending write)
/// instead of the connection holding a slot and memory forever. Used by <see cref="StallGuardedWriter"/> (SSE, MCP GET
/// streams) and the WebSocket stream.
/// </summary>
internal sealed class StallGuard : IDisposable
{
    private readonly TimeSpan _stallTimeout;
    private readonly Action _cutOff;
    private readonly ITimer _timer;
    private int _stalled;

    public StallGuard(TimeProvider time, TimeSpan stallTimeout, Action cutOff)
    {
        _stallTimeout = stallTimeout;
        _cutOff = cutOff;
        _timer = time.CreateTimer(static state => ((StallGuard)state!).Stall(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>True once a write stalled and the connection was cut off.</summary>
    public bool Stalled => Volatile.Read(ref _stalled) != 0;

    /// <summary>Runs one write, cutting the connection off if it takes longer than the stall timeout.</summary>
    public async ValueTask RunAsync<TState>(Func<TState, CancellationToken, ValueTask> write, TState state, CancellationToken cancellationToken)
    {
        _timer.Change(_stallTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await write(state, cancellationToken);
        }
        finally
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Stall()
    {
        if (Interlocked.Exchange(ref _stalled, 1) == 0)
        {
            _cutOff();
        }
    }
}
