namespace EventBus.Server.Limits;

/// <summary>
/// Writes a long-lived response (an MCP GET stream, <c>/api/v1/stream</c>) with the stall cut-off: a write waits on the
/// client's socket, so one that makes no progress for <c>EventBus:Mcp:StreamStallTimeout</c> means the client stopped
/// reading, and the connection is cut off (which ends the pending write) instead of holding a stream slot and memory
/// forever. Bytes go out in chunks, each timed on its own, so a slow reader that keeps taking is never cut.
/// </summary>
internal sealed class StallGuardedWriter : IDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private readonly Stream _body;
    private readonly TimeSpan _stallTimeout;
    private readonly Action _cutOff;
    private readonly ITimer _timer;
    private int _stalled;

    public StallGuardedWriter(Stream body, TimeProvider time, TimeSpan stallTimeout, Action cutOff)
    {
        _body = body;
        _stallTimeout = stallTimeout;
        _cutOff = cutOff;
        _timer = time.CreateTimer(static state => ((StallGuardedWriter)state!).Stall(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>True once a write stalled and the connection was cut off.</summary>
    public bool Stalled => Volatile.Read(ref _stalled) != 0;

    /// <summary>Writes <paramref name="bytes"/>, each chunk within the stall timeout.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
        {
            _timer.Change(_stallTimeout, Timeout.InfiniteTimeSpan);
            try
            {
                await _body.WriteAsync(bytes.Slice(offset, Math.Min(ChunkBytes, bytes.Length - offset)), cancellationToken);
            }
            finally
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Flushes within the stall timeout.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _timer.Change(_stallTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await _body.FlushAsync(cancellationToken);
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
