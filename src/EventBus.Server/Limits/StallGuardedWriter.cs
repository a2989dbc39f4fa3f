namespace EventBus.Server.Limits;

/// <summary>
/// Writes a long-lived response (an MCP GET stream, <c>/api/v1/stream</c>) with the stall cut-off: a write waits on the
/// client's socket, so one that makes no progress for <c>EventBus:Mcp:StreamStallTimeout</c> means the client stopped
/// reading, and the connection is cut off (which ends the pending write) instead of holding a stream slot and memory
/// forever. Bytes go out in chunks, each timed on its own, so a slow reader that keeps taking is never cut.
/// </summary>
internal sealed class StallGuardedWriter(Stream body, TimeProvider time, TimeSpan stallTimeout, Action cutOff) : IDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private readonly StallGuard _guard = new(time, stallTimeout, cutOff);

    /// <summary>True once a write stalled and the connection was cut off.</summary>
    public bool Stalled => _guard.Stalled;

    /// <summary>Writes <paramref name="bytes"/>, each chunk within the stall timeout.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
        {
            var chunk = bytes.Slice(offset, Math.Min(ChunkBytes, bytes.Length - offset));
            await _guard.RunAsync(static (w, ct) => w.Body.WriteAsync(w.Chunk, ct), (Body: body, Chunk: chunk), cancellationToken);
        }
    }

    /// <summary>Flushes within the stall timeout.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken) =>
        _guard.RunAsync(static (b, ct) => new ValueTask(b.FlushAsync(ct)), body, cancellationToken);

    public void Dispose() => _guard.Dispose();
}
