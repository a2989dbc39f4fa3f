using System.Text;
using System.Threading.Channels;
using EventBus.Core.Diagnostics;
using EventBus.Server.Limits;

namespace EventBus.Server.Mcp;

/// <summary>
/// A session's GET SSE stream. Writers enqueue whole SSE frames and never wait on the client: the queue is bounded,
/// and a reader that lets it fill (stopped reading, socket buffer full) is cut off instead of stalling anyone else.
/// Keep-alive comments are written by the same loop, so frames never interleave. A write the client takes nothing of for
/// the stall timeout cuts the stream off too. Frames carry the event id they deliver, so push knows how far the client
/// has really been sent: only what was written and flushed counts, and across a cut-off only what was followed by
/// <see cref="ResendBytes"/> more (see <see cref="SentThrough"/>).
/// </summary>
internal sealed class SessionEventStream
{
    private static readonly ReadOnlyMemory<byte> KeepAliveFrame = Encoding.UTF8.GetBytes(": keepalive\n\n");
    private readonly Channel<Frame> _frames;
    private readonly Action _cutOff;
    private readonly CancellationTokenSource _ended = new();
    private readonly Queue<Checkpoint> _checkpoints = new();
    private Checkpoint? _open;
    private long _written;
    private long _queuedThrough;
    private long _deliveredThrough;
    private long _safeThrough;
    private int _delivering;
    private volatile bool _writing;

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

    /// <summary>
    /// How many bytes written to the client may still sit unread between this server and the client's parser (Kestrel's
    /// response buffer, both sockets' buffers) when its connection is cut: a frame counts as received after a cut-off
    /// only once this much more has been written after it.
    /// </summary>
    public long ResendBytes { get; init; } = McpHttpOptions.DefaultStreamResendBytes;

    /// <summary>True once the stream was cut off for not reading.</summary>
    public bool WasCutOff { get; private set; }

    /// <summary>Cancelled when the stream ends (client gone, cut off, session closed).</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>The highest event id whose frame has been written and flushed to the client.</summary>
    public long DeliveredThrough => Interlocked.Read(ref _deliveredThrough);

    /// <summary>
    /// How far the push cursor may move for this stream, given that its delivery loop has scanned up to
    /// <paramref name="scanned"/>. After a clean end (the client left or the session closed with no write pending):
    /// past every frame written and flushed, or past everything scanned when no event frame was left unwritten.
    /// Otherwise (still live, cut off, or ended inside a write): only past frames followed by <see cref="ResendBytes"/>
    /// more written bytes, since a connection that is cut loses what its buffers held unread. So delivery is at least
    /// once across a cut-off, never with a gap. Read it from the delivery loop (the only one that queues event frames).
    /// </summary>
    public long SentThrough(long scanned)
    {
        if (!Ended.IsCancellationRequested || WasCutOff || _writing)
        {
            return Interlocked.Read(ref _safeThrough);
        }

        var delivered = DeliveredThrough;
        return delivered >= Interlocked.Read(ref _queuedThrough) ? Math.Max(scanned, delivered) : delivered;
    }

    /// <summary>Raised after frames are flushed to the client and after the delivery loop ends.</summary>
    public Core.Events.ChangeSignal Changed { get; } = new();

    /// <summary>True while a delivery loop pushes into this stream.</summary>
    public bool Delivering => Volatile.Read(ref _delivering) == 1;

    /// <summary>Claims the right to push into this stream (one delivery loop per stream).</summary>
    public bool TryStartDelivery() => Interlocked.CompareExchange(ref _delivering, 1, 0) == 0;

    /// <summary>Gives the right back (the loop ended while the stream may live on).</summary>
    public void EndDelivery()
    {
        Volatile.Write(ref _delivering, 0);
        Changed.Notify();
    }

    /// <summary>
    /// Queues a frame without waiting (notifications from request handlers); if the queue is full, the reader is too
    /// far behind: cuts the stream off and returns false.
    /// </summary>
    public bool TryEnqueue(ReadOnlyMemory<byte> frame, long eventId = 0)
    {
        if (_frames.Writer.TryWrite(new Frame(frame, eventId)))
        {
            Queued(eventId);
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
    /// <param name="publishedAtMs">The pushed event's timestamp (Unix ms), for the push lag metric; 0 for other frames.</param>
    public async ValueTask<bool> EnqueueAsync(
        ReadOnlyMemory<byte> frame, long eventId, TimeSpan stallTimeout, TimeProvider time, CancellationToken cancellationToken, long publishedAtMs = 0)
    {
        var item = new Frame(frame, eventId, publishedAtMs);
        if (_frames.Writer.TryWrite(item))
        {
            Queued(eventId);
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
                    Queued(eventId);
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
    /// fires; after an interval with nothing written, writes a keep-alive comment. A write the client takes nothing of
    /// for <paramref name="stallTimeout"/> cuts the stream off.
    /// </summary>
    public async Task PumpAsync(
        Stream body, TimeProvider time, TimeSpan keepAlive, TimeSpan stallTimeout, CancellationToken cancellationToken)
    {
        var reader = _frames.Reader;
        using var writer = new StallGuardedWriter(body, time, stallTimeout, CutOff);
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
                var bytes = 0L;
                var pushed = 0;
                var oldestPublishedMs = long.MaxValue;
                _writing = true;
                while (reader.TryRead(out var frame))
                {
                    await writer.WriteAsync(frame.Bytes, cancellationToken);
                    through = Math.Max(through, frame.EventId);
                    bytes += frame.Bytes.Length;
                    if (frame.PublishedAtMs > 0)
                    {
                        pushed++;
                        oldestPublishedMs = Math.Min(oldestPublishedMs, frame.PublishedAtMs);
                    }
                }

                await writer.FlushAsync(cancellationToken);
                _writing = false;
                Flushed(bytes, through);
                if (pushed > 0)
                {
                    // One lag sample per flush: the oldest event in it, the one that waited longest.
                    BusTelemetry.PushDeliveries.Add(pushed);
                    BusTelemetry.PushLag.Record(Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - oldestPublishedMs) / 1000.0);
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
                    _writing = true;
                    await writer.WriteAsync(KeepAliveFrame, cancellationToken);
                    await writer.FlushAsync(cancellationToken);
                    _writing = false;
                    Flushed(KeepAliveFrame.Length, 0);
                }

                wroteSinceTick = false;
            }
        }
    }

    private void Queued(long eventId)
    {
        if (eventId > Interlocked.Read(ref _queuedThrough))
        {
            Interlocked.Exchange(ref _queuedThrough, eventId);
        }
    }

    /// <summary>
    /// Counts a flushed batch: its frames are delivered, and those followed by <see cref="ResendBytes"/> more written
    /// bytes are safe across a cut-off. Checkpoints are merged into about 64 per <see cref="ResendBytes"/>, which only
    /// ever makes a frame count as safe a little later.
    /// </summary>
    private void Flushed(long bytes, long through)
    {
        _written += bytes;
        if (through > 0)
        {
            Interlocked.Exchange(ref _deliveredThrough, Math.Max(through, DeliveredThrough));
            Changed.Notify();
            if (_open is { } open && _written - open.Start < Math.Max(ResendBytes / 64, 1))
            {
                _open = open with { Through = Math.Max(open.Through, through), End = _written };
            }
            else
            {
                if (_open is { } full)
                {
                    _checkpoints.Enqueue(full);
                }

                _open = new Checkpoint(_written - bytes, _written, through);
            }
        }

        var safe = Interlocked.Read(ref _safeThrough);
        while (_checkpoints.TryPeek(out var oldest) && oldest.End <= _written - ResendBytes)
        {
            safe = Math.Max(safe, _checkpoints.Dequeue().Through);
        }

        if (_checkpoints.Count == 0 && _open is { } last && last.End <= _written - ResendBytes)
        {
            safe = Math.Max(safe, last.Through);
            _open = null;
        }

        Interlocked.Exchange(ref _safeThrough, safe);
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

    private readonly record struct Frame(ReadOnlyMemory<byte> Bytes, long EventId, long PublishedAtMs = 0);

    /// <summary>Frames written between byte offsets <paramref name="Start"/> and <paramref name="End"/>, up to event <paramref name="Through"/>.</summary>
    private readonly record struct Checkpoint(long Start, long End, long Through);
}
