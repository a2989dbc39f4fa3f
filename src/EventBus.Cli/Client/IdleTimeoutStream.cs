namespace EventBus.Cli.Client;

/// <summary>The stream went quiet: no byte (no event, no keep-alive comment) for the idle timeout.</summary>
internal sealed class StreamIdleException(TimeSpan idle) : IOException($"no data or keep-alive for {idle.TotalSeconds:0} s");

/// <summary>
/// A response body that counts as dead when no byte arrives for <paramref name="idle"/>. The bus sends a
/// <c>: keepalive</c> comment every 15 s on an idle stream; the SSE parser drops comments, so liveness is judged here,
/// below it, on bytes.
/// </summary>
internal sealed class IdleTimeoutStream(Stream inner, TimeSpan idle, TimeProvider time) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var quiet = new CancellationTokenSource(idle, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, quiet.Token);
        try
        {
            return await inner.ReadAsync(buffer, either.Token);
        }
        catch (OperationCanceledException) when (quiet.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new StreamIdleException(idle);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
