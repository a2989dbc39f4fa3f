using System.Text;
using System.Threading.Channels;

namespace EventBus.Server.Mcp;

/// <summary>
/// A session's GET SSE stream. Writers enqueue whole SSE frames and never wait on the client: the queue is bounded,
/// and a reader that lets it fill (stopped reading, socket buffer full) is cut off instead of stalling anyone else.
/// Keep-alive comments are written by the same loop, so frames never interleave. Frames carry the event id they
/// deliver, so push knows how far the client has really been sent.
/// </summary>
internal sealed class SessionEventStream
{
    private static readonly ReadOnlyMemory<byte> KeepAliveFrame = Encoding.UTF8.GetBytes(": keepalive\n\n");
    private readonly Channel<Frame> _frames;
    private readonly Action _cutOff;
    private readonly CancellationTokenSource _ended = new();
    private long _deliveredThrough;
    private int _delivering;

    public SessionEventStream(int capacity, Action cutOff)
    {
        _cutOff = cutOff;
        _frames = Channel.CreateBounded<Frame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The <c>Last-Event-ID</c> the client reconnected with: push resumes right after it.</summary>
    public long? ResumeAfter { get; init; }

    /// <summary>True once the stream was cut off for not reading.</summary>
    public bool WasCutOff { get; private set; }

    /// <summary>Cancelled when the stream ends (client gone, cut off, session closed).</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>The highest event id whose frame has been written and flushed to the client.</summary>
    public long DeliveredThrough => Interlocked.Read(ref _deliveredThrough);

    /// <summary>True when every queued frame has been written.</summary>
    public bool IsDrained => _frames.Reader.Count == 0;

    /// <summary>Claims the right to push into this stream (one delivery loop per stream).</summary>
    public bool TryStartDelivery() => Interlocked.CompareExchange(ref _delivering, 1, 0) == 0;

    /// <summary>Gives the right back (the loop ended while the stream may live on).</summary>
    public void EndDelivery() => Volatile.Write(ref _delivering, 0);

    /// <summary>
    /// Queues a frame without waiting (notifications from request handlers); if the queue is full, the reader is too
    /// far behind: cuts the stream off and returns false.
    /// </summary>
    public bool TryEnqueue(ReadOnlyMemory<byte> frame, long eventId = 0)
    {
        if (_frames.Writer.TryWrite(new Frame(frame, eventId)))
        {
            return true;
        }

        CutOff();
        return false;
    }

    /// <summary>
    /// Queues a frame of the session's own delivery loop, which reads from the durable store and so may wait: when the
    /// queue is full it waits for the reader to make room (a catch-up of thousands of events is fine for a client that
    /// reads). If the reader makes no room within <paramref name="stallTimeout"/>, it counts as stuck: the stream is
    /// cut off and false returned.
    /// </summary>
    public async ValueTask<bool> EnqueueAsync(
        ReadOnlyMemory<byte> frame, long eventId, TimeSpan stallTimeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var item = new Frame(frame, eventId);
        if (_frames.Writer.TryWrite(item))
        {
            return true;
        }

        using var stall = new CancellationTokenSource(stallTimeout, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stall.Token, cancellationToken);
        try
        {
            while (await _frames.Writer.WaitToWriteAsync(wait.Token))
            {
                if (_frames.Writer.TryWrite(item))
                {
                    return true;
                }
            }

            return false; // The stream ended meanwhile.
        }
        catch (OperationCanceledException) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            CutOff();
            return false;
        }
    }

    /// <summary>Ends the stream after what is queued.</summary>
    public void Complete()
    {
        _frames.Writer.TryComplete();
        End();
    }

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

                var through = 0L;
                while (reader.TryRead(out var frame))
                {
                    await body.WriteAsync(frame.Bytes, cancellationToken);
                    through = Math.Max(through, frame.EventId);
                }

                await body.FlushAsync(cancellationToken);
                if (through > 0)
                {
                    Interlocked.Exchange(ref _deliveredThrough, Math.Max(through, DeliveredThrough));
                }

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

    private void CutOff()
    {
        if (_frames.Writer.TryComplete())
        {
            WasCutOff = true;
            _cutOff();
            End();
        }
    }

    private void End()
    {
        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already ended.
        }
    }

    private readonly record struct Frame(ReadOnlyMemory<byte> Bytes, long EventId);
}
