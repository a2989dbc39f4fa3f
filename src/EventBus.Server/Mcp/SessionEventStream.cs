using System.Text;
using System.Threading.Channels;

namespace EventBus.Server.Mcp;

/// <summary>
/// A session's GET SSE stream. Writers enqueue whole SSE frames and never wait on the client: the queue is bounded,
/// and a reader that lets it fill (stopped reading, socket buffer full) is cut off instead of stalling anyone else.
/// Keep-alive comments go through the same queue, so frames never interleave.
/// </summary>
internal sealed class SessionEventStream
{
    private static readonly ReadOnlyMemory<byte> KeepAliveFrame = Encoding.UTF8.GetBytes(": keepalive\n\n");
    private readonly Channel<ReadOnlyMemory<byte>> _frames;
    private readonly Action _cutOff;

    public SessionEventStream(int capacity, Action cutOff)
    {
        _cutOff = cutOff;
        _frames = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>True once the stream was cut off for not reading.</summary>
    public bool WasCutOff { get; private set; }

    /// <summary>Queues a frame; if the reader is too far behind, cuts the stream off and returns false.</summary>
    public bool TryEnqueue(ReadOnlyMemory<byte> frame)
    {
        if (_frames.Writer.TryWrite(frame))
        {
            return true;
        }

        if (_frames.Writer.TryComplete())
        {
            WasCutOff = true;
            _cutOff();
        }

        return false;
    }

    /// <summary>Ends the stream after what is queued.</summary>
    public void Complete() => _frames.Writer.TryComplete();

    /// <summary>
    /// Writes queued frames to <paramref name="body"/> until the queue completes or <paramref name="cancellationToken"/>
    /// fires; after an interval with nothing written, writes a keep-alive comment.
    /// </summary>
    public async Task PumpAsync(Stream body, TimeProvider time, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        var reader = _frames.Reader;
        using var timer = new PeriodicTimer(keepAlive, time);
        Task<bool>? ready = null;
        Task<bool>? tick = null;
        var wroteSinceTick = false;
        while (true)
        {
            ready ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            tick ??= timer.WaitForNextTickAsync(cancellationToken).AsTask();
            var first = await Task.WhenAny(ready, tick);
            if (first == ready)
            {
                ready = null;
                if (!await first)
                {
                    return;
                }

                while (reader.TryRead(out var frame))
                {
                    await body.WriteAsync(frame, cancellationToken);
                }

                await body.FlushAsync(cancellationToken);
                wroteSinceTick = true;
            }
            else
            {
                tick = null;
                if (!await first)
                {
                    return;
                }

                if (!wroteSinceTick)
                {
                    await body.WriteAsync(KeepAliveFrame, cancellationToken);
                    await body.FlushAsync(cancellationToken);
                }

                wroteSinceTick = false;
            }
        }
    }
}
