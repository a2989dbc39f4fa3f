using System.Collections.Concurrent;
using EventBus.Core.Channels;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Server.Mcp;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Push;

/// <summary>
/// Pushes committed events to bound MCP sessions with an open GET stream, as <c>notifications/claude/channel</c>.
/// Each stream gets its own delivery loop that reads from the store after the session's durable push cursor, so a
/// stream that opens (or reopens) first receives what it missed, then live events; the commit signal only wakes it.
/// Publishers never touch a stream: a loop enqueues into the stream's bounded queue, waiting when it is full (the
/// events are safe in the store), and a stream whose reader takes nothing for <c>StreamStallTimeout</c> is cut off
/// (its cursor kept) rather than holding anything.
/// </summary>
internal sealed partial class PushService(
    IEventStore store,
    CommitSignal signal,
    RecentEvents recent,
    TimeProvider time,
    IOptions<McpHttpOptions> options,
    ILogger<PushService> logger)
{
    private const int PageSize = 256;
    private const int MaxContentLength = 1000;
    private static readonly TimeSpan PersistEvery = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, string> _displayIds = new(StringComparer.Ordinal);

    // A pushed event's frame is the same for every recipient: built once, reused by every stream it goes to.
    private readonly CachedFrame?[] _frames = new CachedFrame?[4096];

    /// <summary>Starts delivery if the session is bound and has an open stream without a loop (on attach and on bind).</summary>
    public void Attach(McpHttpSession session)
    {
        if (session.BoundSessionId is not { } busId || session.Stream is not { } stream || !stream.TryStartDelivery())
        {
            return;
        }

        // The loop lives exactly as long as the stream (bounded by it) and catches its own errors.
        _ = DeliverAsync(session, busId, stream);
    }

    private async Task DeliverAsync(McpHttpSession session, string busId, SessionEventStream stream)
    {
        var ct = stream.Ended;
        long cursor = 0;
        long start = 0;
        long persisted = -1;
        var lastPersist = time.GetTimestamp();
        var rebound = false;
        var locked = false;
        var started = false;
        var subscriptionsVersion = long.MinValue;
        List<(ChannelPattern Pattern, SignalLevel MinLevel)> subscriptions = [];
        try
        {
            // One loop at a time per MCP session: a reopened stream starts only after the old loop saved its cursor.
            await session.DeliveryLock.WaitAsync(ct);
            locked = true;
            var bus = await store.GetSessionAsync(busId, ct);
            if (bus is null || !bus.IsLive)
            {
                return;
            }

            // Last-Event-ID is what the client really received; the push cursor is what was surely delivered before.
            cursor = stream.ResumeAfter ?? bus.PushCursor ?? bus.Cursor ?? signal.Tip;
            start = cursor;
            persisted = bus.PushCursor ?? -1;
            started = true;
            while (!ct.IsCancellationRequested)
            {
                if (session.BoundSessionId != busId)
                {
                    rebound = true;
                    return;
                }

                // Subscriptions stay in memory until one changes; what was just committed is read from memory.
                if (store.SubscriptionsVersion != subscriptionsVersion)
                {
                    subscriptionsVersion = store.SubscriptionsVersion;
                    subscriptions = (await store.ListSubscriptionsAsync(busId, ct))
                        .Select(s => (Pattern: ChannelPattern.Parse(s.Pattern), s.MinLevel))
                        .ToList();
                }

                var page = recent.TryRead(cursor, PageSize) ?? await store.ReadEventsAsync(new EventQuery(cursor, PageSize), ct);
                var pushed = false;
                foreach (var e in page.Events)
                {
                    if (!Wants(e, busId, subscriptions, session.Caller.IsAdmin))
                    {
                        continue;
                    }

                    if (!await stream.EnqueueAsync(
                        await FrameAsync(e, ct), e.Id, options.Value.StreamStallTimeout, time, ct, e.Timestamp.ToUnixTimeMilliseconds()))
                    {
                        return; // Cut off: the reader stopped reading.
                    }

                    pushed = true;
                }

                var inbox = InboxResource.UriFor(busId);
                if (pushed && session.IsSubscribedTo(inbox) &&
                    !await stream.EnqueueAsync(InboxUpdated(inbox), 0, options.Value.StreamStallTimeout, time, ct))
                {
                    return;
                }

                cursor = page.HasMore ? page.Events[^1].Id : Math.Max(cursor, page.Tip);
                if (time.GetElapsedTime(lastPersist) >= PersistEvery)
                {
                    persisted = await PersistAsync(busId, stream, start, cursor, persisted);
                    lastPersist = time.GetTimestamp();
                }

                if (!page.HasMore)
                {
                    await signal.WaitForAsync(cursor, TimeSpan.FromMinutes(1), time, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The stream ended.
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, busId);
        }
        finally
        {
            if (locked)
            {
                if (started)
                {
                    await PersistAsync(busId, stream, start, cursor, persisted);
                }

                session.DeliveryLock.Release();
            }

            stream.EndDelivery();
            if (rebound)
            {
                Attach(session);
            }
        }
    }

    /// <summary>
    /// Saves how far the client has surely been sent (<see cref="SessionEventStream.SentThrough"/>): never past a frame
    /// that was only queued, and across a cut-off not past what the connection's buffers may have held unread, so the
    /// next stream sends those again rather than skipping them. Never before where this stream started, though: the
    /// client had what came before that (by its Last-Event-ID, or a previous stream), or was never meant to be pushed it.
    /// </summary>
    private async Task<long> PersistAsync(string busId, SessionEventStream stream, long start, long scanned, long persisted)
    {
        var safe = Math.Max(start, stream.SentThrough(scanned));
        if (safe <= persisted)
        {
            return persisted;
        }

        try
        {
            await store.AdvancePushCursorAsync(busId, safe, CancellationToken.None);
            return safe;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex, busId);
            return persisted;
        }
    }

    /// <summary>Own events are never pushed back; direct messages always are; otherwise a subscription must match.</summary>
    /// <param name="othersDirectMessages">Whether a subscription may match other sessions' direct messages: only for
    /// an admin token or without auth (a <c>session:#</c> subscription must not read other people's mail).</param>
    internal static bool Wants(
        BusEvent e, string busId, IReadOnlyList<(ChannelPattern Pattern, SignalLevel MinLevel)> subscriptions, bool othersDirectMessages = true)
    {
        if (e.SessionId == busId)
        {
            return false;
        }

        if (e.Channel.Length == ChannelName.DirectPrefix.Length + busId.Length && e.Channel == ChannelName.Direct(busId))
        {
            return true;
        }

        if (!othersDirectMessages && ChannelName.IsDirect(e.Channel))
        {
            return false;
        }

        foreach (var (pattern, minLevel) in subscriptions)
        {
            if (e.SignalLevel >= minLevel && pattern.Matches(e.Channel))
            {
                return true;
            }
        }

        return false;
    }

    private async ValueTask<ReadOnlyMemory<byte>> FrameAsync(BusEvent e, CancellationToken cancellationToken)
    {
        var slot = (int)(e.Id % _frames.Length);
        if (Volatile.Read(ref _frames[slot]) is { } cached && cached.EventId == e.Id)
        {
            return cached.Bytes;
        }

        var from = await DisplayNameAsync(e.SessionId, cancellationToken);
        var frame = SseMessage.Notification("notifications/claude/channel", json =>
        {
            json.WriteString("content", Content(e, from));
            json.WriteStartObject("meta");
            json.WriteString("event_id", Cursor.Format(e.Id));
            json.WriteString("channel", e.Channel);
            json.WriteString("event_type", e.EventType);
            json.WriteString("signal_level", e.SignalLevel.ToWire());
            json.WriteString("from", from);
            json.WriteEndObject();
        }, id: e.Id);
        Volatile.Write(ref _frames[slot], new CachedFrame(e.Id, frame));
        return frame;
    }

    /// <summary><c>notifications/resources/updated</c> for a session's inbox, for clients that subscribed to it.</summary>
    private static ReadOnlyMemory<byte> InboxUpdated(string uri) =>
        SseMessage.Notification("notifications/resources/updated", json => json.WriteString("uri", uri));

    /// <summary>One readable line: who, what, where, and the message (long ones cut with a pointer to the rest).</summary>
    internal static string Content(BusEvent e, string from)
    {
        var text = e.Title is { Length: > 0 } title ? $"{title}: {e.Payload}" : e.Payload;
        if (text.Length > MaxContentLength)
        {
            text = $"{text[..MaxContentLength]}… (cut; get_events(cursor=\"{e.Id - 1}\", limit=1) has all of event {e.Id})";
        }

        return $"{e.EventType} from {from} on {e.Channel}: {text}";
    }

    private async Task<string> DisplayNameAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (_displayIds.TryGetValue(sessionId, out var name))
        {
            return name;
        }

        var session = await store.GetSessionAsync(sessionId, cancellationToken);
        name = session is null ? sessionId : session.DisplayId;
        _displayIds[sessionId] = name;
        return name;
    }

    private sealed record CachedFrame(long EventId, ReadOnlyMemory<byte> Bytes);

    [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "Push to session {SessionId} stopped")]
    private static partial void LogFailed(ILogger logger, Exception exception, string sessionId);
}
