using System.Text.Json.Nodes;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using EventBus.Core.Events;
using EventBus.Server.Push;
using Microsoft.Extensions.Logging;

namespace EventBus.Cli.Channel;

/// <summary>
/// The channel's delivery loop: registers (or resumes) the session, follows the bus's SSE stream from the channel's
/// durable cursor, and sends each event the session wants as <c>notifications/claude/channel</c> — the server's own
/// push rule and frame (<see cref="PushService"/>). The bus going away is normal: the stream reconnects with
/// <c>Last-Event-ID</c>, registration retries with backoff, and the cursor file makes a restarted channel resume
/// exactly where it stopped.
/// </summary>
internal sealed partial class ChannelPump(BusClient client, ChannelSettings settings, TimeProvider time, ILogger logger)
{
    private const int RecentCapacity = 256;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, BusEvent> _recent = [];
    private readonly Queue<long> _recentOrder = new();
    private Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private long _namesReadAt = long.MinValue;
    private Interest? _interest;
    private long _interestReadAt;
    private readonly TaskCompletionSource<BusSession> _firstSession = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The session, once registered (null while the bus has not been reached yet).</summary>
    public BusSession? Session { get; private set; }

    /// <summary>Completes when the session is first registered.</summary>
    public Task<BusSession> FirstSession => _firstSession.Task;

    /// <summary>Relays answers to permission requests (when the relay is on).</summary>
    public PermissionRelay? Permissions { get; set; }

    /// <summary>Called after each successful (re)registration.</summary>
    public Action<BusSession>? OnRegistered { get; init; }

    /// <summary>Subscriptions changed (through the channel's tools): read them again before the next event.</summary>
    public void InvalidateInterest()
    {
        lock (_gate)
        {
            _interest = null;
        }
    }

    /// <summary>An event recently delivered, for <c>reply</c>.</summary>
    public BusEvent? Recent(long id)
    {
        lock (_gate)
        {
            return _recent.GetValueOrDefault(id);
        }
    }

    /// <summary>The newest event delivered, the default target of <c>reply</c>.</summary>
    public BusEvent? LastDelivered { get; private set; }

    public async Task RunAsync(IDeliveryTarget server, CancellationToken cancellationToken)
    {
        var retry = new BusRetry(
            time,
            ex => ex is SessionGoneException or BusUnavailableException or BusCallException or BusAuthException or System.Text.Json.JsonException or IOException,
            (ex, delay) =>
            {
                if (ex is BusUnavailableException)
                {
                    LogBusDown(logger, ex.Message, delay.TotalSeconds);
                }
                else if (ex is not SessionGoneException)
                {
                    LogFailed(logger, ex.Message, delay.TotalSeconds);
                }

                return ValueTask.CompletedTask;
            },
            settings.InitialRetryDelay,
            settings.MaxRetryDelay);
        try
        {
            await retry.Pipeline.ExecuteAsync(
                async token =>
                {
                    var session = await BusSession.RegisterAsync(client, settings.Name, settings.Machine, settings.Cwd, settings.ClientId, settings.CallTimeout, token);
                    Session = session;
                    InvalidateInterest();
                    LogRegistered(logger, session.DisplayId, session.SessionId, session.Resumed ? "resumed" : "new");
                    _firstSession.TrySetResult(session);
                    OnRegistered?.Invoke(session);
                    retry.Reset();
                    await FollowAsync(server, session, token);
                    // The heartbeat found the session gone: register again (after the first delay).
                    throw new SessionGoneException();
                },
                cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    /// <summary>The follow ended because the session is gone from the bus: registration starts over.</summary>
    private sealed class SessionGoneException : Exception;

    /// <summary>Follows until cancelled, or until the heartbeat finds the session gone (then returns to register again).</summary>
    private async Task FollowAsync(IDeliveryTarget server, BusSession session, CancellationToken cancellationToken)
    {
        var cursor = ChannelCursor.For(settings.StateDirectory, session.SessionId, time);
        var start = cursor.Load() ?? session.Cursor;
        cursor.Advance(start, now: true);
        LogFollowing(logger, start, cursor.Path);

        using var restart = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatAsync(session, restart);
        var follower = new EventStreamFollower(client, time)
        {
            FailIfFirstConnectFails = false,
            InitialRetryDelay = settings.InitialRetryDelay,
            MaxRetryDelay = settings.MaxRetryDelay,
            OnStatus = status =>
            {
                if (status.State == StreamState.Connected)
                {
                    LogStream(logger, status.Message);
                }
                else
                {
                    LogStreamLost(logger, status.Message, status.RetryIn?.TotalSeconds ?? 0);
                }
            },
        };
        try
        {
            await foreach (var item in follower.FollowAsync(cursor.Position.ToString(System.Globalization.CultureInfo.InvariantCulture), null, restart.Token))
            {
                var e = EventJson.ToBusEvent(item.Event);
                if (Permissions is { } relay && await relay.TryRelayAsync(server, e, CancellationToken.None))
                {
                    cursor.Advance(e.Id, now: true);
                    continue;
                }

                var interest = await InterestAsync(session, restart.Token);
                if (!settings.Push || !interest.Pushes(e))
                {
                    cursor.Advance(e.Id, now: false);
                    continue;
                }

                var from = await DisplayNameAsync(e.SessionId, restart.Token);
                // Not cancelled once begun: a stop that lands while the write is flushing would throw after Claude Code
                // already had the event, leave the cursor behind it, and the next channel would push it again. One short
                // message to a client that is reading (or gone: then the write fails at once) cannot hold a stop long.
                await server.NotifyAsync("notifications/claude/channel", Notification(e, from), CancellationToken.None);
                Remember(e);
                cursor.Advance(e.Id, now: true);
                LogDelivered(logger, e.Id, e.Channel);
            }
        }
        catch (OperationCanceledException) when (restart.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogSessionGone(logger, session.SessionId);
        }
        finally
        {
            cursor.Save();
            await restart.CancelAsync();
            await heartbeat;
        }
    }

    /// <summary>The server's push frame: the same content line and meta keys.</summary>
    internal static JsonObject Notification(BusEvent e, string from) => new()
    {
        ["content"] = PushService.Content(e, from),
        ["meta"] = new JsonObject
        {
            ["event_id"] = Core.Events.Cursor.Format(e.Id),
            ["channel"] = e.Channel,
            ["event_type"] = e.EventType,
            ["signal_level"] = e.SignalLevel.ToWire(),
            ["from"] = from,
        },
    };

    /// <summary>Keeps the session alive on the bus; when it has been deleted (expired), ends the follow so it re-registers.</summary>
    private async Task HeartbeatAsync(BusSession session, CancellationTokenSource restart)
    {
        try
        {
            while (!restart.IsCancellationRequested)
            {
                await Task.Delay(settings.HeartbeatInterval, time, restart.Token);
                try
                {
                    var result = await client.CallToolAsync(
                        "get_events", new JsonObject { ["session_id"] = session.SessionId, ["peek"] = true, ["limit"] = 1 }, settings.CallTimeout, restart.Token);
                    if (EventJson.Error(result) is not null)
                    {
                        await restart.CancelAsync();
                    }
                }
                catch (Exception ex) when (ex is BusUnavailableException or BusCallException or BusAuthException)
                {
                    // The stream reports the bus being down; the next beat tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The follow ended.
        }
    }

    private async Task<Interest> InterestAsync(BusSession session, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_interest is { } cached && time.GetElapsedTime(_interestReadAt) < settings.SubscriptionsTtl)
            {
                return cached;
            }
        }

        var fresh = await session.InterestAsync(client, settings.CallTimeout, cancellationToken);
        lock (_gate)
        {
            _interest = fresh;
            _interestReadAt = time.GetTimestamp();
        }

        return fresh;
    }

    /// <summary>The sender's display id (read from list_sessions, refreshed at most every few seconds on a miss).</summary>
    private async Task<string> DisplayNameAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (_names.TryGetValue(sessionId, out var name))
        {
            return name;
        }

        if (_namesReadAt == long.MinValue || time.GetElapsedTime(_namesReadAt) >= settings.SubscriptionsTtl)
        {
            _names = await BusSession.DisplayIdsAsync(client, settings.CallTimeout, cancellationToken);
            _namesReadAt = time.GetTimestamp();
        }

        return _names.GetValueOrDefault(sessionId, sessionId);
    }

    private void Remember(BusEvent e)
    {
        lock (_gate)
        {
            if (_recent.TryAdd(e.Id, e))
            {
                _recentOrder.Enqueue(e.Id);
                if (_recentOrder.Count > RecentCapacity)
                {
                    _recent.Remove(_recentOrder.Dequeue());
                }
            }

            LastDelivered = e;
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Registered on the bus as {DisplayId} (session {SessionId}, {How})")]
    private static partial void LogRegistered(ILogger logger, string displayId, string sessionId, string how);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "{Reason}; trying again in {Seconds:0.##} s")]
    private static partial void LogBusDown(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "The bus refused: {Reason}; trying again in {Seconds:0.##} s")]
    private static partial void LogFailed(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "Delivering events after {Cursor} (cursor file {Path})")]
    private static partial void LogFollowing(ILogger logger, long cursor, string path);

    [LoggerMessage(EventId = 704, Level = LogLevel.Information, Message = "Connected: {Message}")]
    private static partial void LogStream(ILogger logger, string message);

    [LoggerMessage(EventId = 705, Level = LogLevel.Warning, Message = "Lost the bus's stream ({Reason}); reconnecting in {Seconds:0.##} s")]
    private static partial void LogStreamLost(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 706, Level = LogLevel.Debug, Message = "Delivered event {EventId} from {Channel}")]
    private static partial void LogDelivered(ILogger logger, long eventId, string channel);

    [LoggerMessage(EventId = 707, Level = LogLevel.Warning, Message = "Session {SessionId} is gone from the bus (expired or unregistered); registering again")]
    private static partial void LogSessionGone(ILogger logger, string sessionId);
}
