using System.Buffers;
using System.Threading.Channels;
using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Store;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EventBus.Server.Mqtt.Bridge;

/// <summary>
/// One bridge: a persistent MQTT session with one broker (clean start off, QoS 1 both ways), reconnected with backoff.
/// In: each message is mapped, stored in a group commit with the others that arrived meanwhile, and only then
/// acknowledged (PUBACK), so the broker redelivers whatever the bus did not store. Out: an <see cref="EventFollower"/>
/// from the bridge's durable position; an event counts as sent when the broker acknowledged it, and the position is
/// saved after each page, so a restart neither loses nor floods.
/// </summary>
internal sealed partial class MqttBridge(
    string name,
    MqttBridgeOptions options,
    BusService bus,
    EventFollower follower,
    IPositionStore positions,
    IEventStore store,
    TimeProvider time,
    System.Text.Json.JsonSerializerOptions json,
    ILogger logger)
{
    private const int BatchSize = 256;
    private readonly InboundMapper _in = new(name, options.In);
    private readonly OutboundMapper _out = new(name, options.Out, json);
    private readonly Channel<Received> _received = Channel.CreateBounded<Received>(
        new BoundedChannelOptions(4 * BatchSize) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Which connection a message came on: a PUBACK on a later connection could acknowledge another message that
    // reuses its packet id, so messages of an earlier connection are left to the broker's redelivery instead.
    private int _connection;

    public string Name => name;

    public BridgeState State { get; } = new(name, Redacted(options.Url!));

    /// <summary>Where the outbound position is saved.</summary>
    public string PositionKey => MqttTopics.BridgeOrigin(name);

    /// <summary>Connects, and reconnects with backoff, until stopped.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e => OnReceivedAsync(e, stopping);
        client.DisconnectedAsync += _ =>
        {
            Volatile.Read(ref _lost).TrySetResult();
            return Task.CompletedTask;
        };
        var inbound = StoreReceivedAsync(stopping);
        var delay = options.ReconnectDelay;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                if (await RunConnectionAsync(client, stopping))
                {
                    delay = options.ReconnectDelay;
                }

                State.Disconnected();
                if (stopping.IsCancellationRequested)
                {
                    break;
                }

                // Jitter, so bridges of several nodes do not reconnect in step.
                var wait = delay * (0.8 + (0.4 * Random.Shared.NextDouble()));
                LogReconnecting(logger, name, wait.TotalSeconds);
                await Task.Delay(wait, time, stopping);
                delay = TimeSpan.FromTicks(Math.Min(options.ReconnectMaxDelay.Ticks, delay.Ticks * 2));
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _received.Writer.TryComplete();
            await DisconnectAsync(client);
            try
            {
                await inbound;
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }
    }

    /// <summary>One connection, until it is lost (or the outbound side fails); true when it connected at all.</summary>
    private async Task<bool> RunConnectionAsync(IMqttClient client, CancellationToken stopping)
    {
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _lost, lost);
        try
        {
            var connected = await client.ConnectAsync(ClientOptions(), stopping);
            if (options.In.Count > 0)
            {
                var subscribe = new MqttClientSubscribeOptionsBuilder();
                foreach (var rule in options.In)
                {
                    // No local (MQTT 5): what the bridge publishes out is not sent back in to it.
                    subscribe.WithTopicFilter(rule.Topic!, MqttQualityOfServiceLevel.AtLeastOnce, noLocal: options.ProtocolVersion == "5");
                }

                await client.SubscribeAsync(subscribe.Build(), stopping);
            }

            Interlocked.Increment(ref _connection);
            State.Connected(time.GetUtcNow());
            LogConnected(logger, name, State.Report().Broker, connected.IsSessionPresent);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            Failed(ex);
            await DisconnectAsync(client);
            return false;
        }

        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var outbound = options.Out.Count > 0 ? SendEventsAsync(client, connection.Token) : Task.Delay(Timeout.InfiniteTimeSpan, time, connection.Token);
        var ended = await Task.WhenAny(lost.Task, outbound);
        await connection.CancelAsync();
        try
        {
            await outbound;
        }
        catch (Exception ex) when (ex is OperationCanceledException && connection.IsCancellationRequested)
        {
            // The connection was lost, or the bridge is stopping.
        }
        catch (Exception ex)
        {
            Failed(ex);
        }

        if (ended == lost.Task && !stopping.IsCancellationRequested)
        {
            State.Failed("the connection to the broker was lost", time.GetUtcNow());
            LogLost(logger, name);
        }

        await DisconnectAsync(client);
        return true;
    }

    private MqttClientOptions ClientOptions()
    {
        var builder = new MqttClientOptionsBuilder()
            .WithConnectionUri(options.Url!)
            .WithClientId(options.ClientId ?? $"eventbus-{name}")
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (options.ProtocolVersion == "3.1.1")
        {
            builder.WithProtocolVersion(MqttProtocolVersion.V311).WithCleanSession(false);
        }
        else
        {
            builder.WithProtocolVersion(MqttProtocolVersion.V500).WithCleanStart(false)
                .WithSessionExpiryInterval((uint)options.SessionExpiry.TotalSeconds);
        }

        if (options.Username is not null)
        {
            builder.WithCredentials(options.Username, options.Password ?? "");
        }

        var url = new Uri(options.Url!);
        if (url.Scheme is "mqtts" or "wss")
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(url.Host);
                if (options.AllowUntrustedCertificates)
                {
                    tls.WithAllowUntrustedCertificates().WithCertificateValidationHandler(_ => true);
                }
            });
        }

        return builder.Build();
    }

    /// <summary>Maps a message and queues it for the next group commit; it is acknowledged after that commit.</summary>
    private async Task OnReceivedAsync(MqttApplicationMessageReceivedEventArgs e, CancellationToken stopping)
    {
        e.AutoAcknowledge = false;
        var message = e.ApplicationMessage;
        PublishRequest? request;
        try
        {
            request = _in.Map(message.Topic, message.Payload.ToArray(), message.Retain);
            if (request is not null)
            {
                bus.ToNewEvent(request); // refused now, alone, rather than refusing its whole batch later
            }
        }
        catch (BusValidationException ex)
        {
            LogRefusedIn(logger, name, message.Topic, ex.Message);
            State.AddRefused();
            request = null;
        }

        if (request is null)
        {
            // Nothing to store: acknowledge, or the broker would send it again forever.
            await e.AcknowledgeAsync(stopping);
            return;
        }

        await _received.Writer.WriteAsync(new Received(request, e, Volatile.Read(ref _connection)), stopping);
    }

    /// <summary>Stores queued messages in batches (one transaction each), then acknowledges them in order.</summary>
    private async Task StoreReceivedAsync(CancellationToken stopping)
    {
        var reader = _received.Reader;
        var batch = new List<Received>(BatchSize);
        while (await reader.WaitToReadAsync(stopping))
        {
            batch.Clear();
            while (batch.Count < BatchSize && reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var prepared = bus.PrepareBatch(batch.Select(b => b.Request).ToList(), i => $"message {i}");
                await bus.PublishBatchAsync(prepared, stopping);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                // Not stored, so not acknowledged: the broker sends them again on the next connection. Force one.
                Failed(ex);
                Volatile.Read(ref _lost).TrySetResult();
                continue;
            }

            State.AddIn(batch.Count);
            foreach (var item in batch)
            {
                if (item.Connection != Volatile.Read(ref _connection))
                {
                    continue; // its connection is gone: the broker redelivers it (stored twice, never lost)
                }

                try
                {
                    await item.Args.AcknowledgeAsync(stopping);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The connection it came on is gone: the broker redelivers it (stored twice, never lost).
                    LogAckFailed(logger, name, ex.Message);
                }
            }
        }
    }

    /// <summary>Follows the log from the saved position and publishes what the out-rules want, each acknowledged by the broker.</summary>
    private async Task SendEventsAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        var position = await positions.GetPositionAsync(PositionKey, cancellationToken);
        if (position is null)
        {
            // A new bridge starts from now: it does not flood the broker with the bus's history.
            position = await store.GetTipAsync(cancellationToken);
            await positions.SavePositionAsync(PositionKey, position.Value, time.GetUtcNow(), cancellationToken);
        }

        var filter = new FollowFilter(Accept: (e, _) => ValueTask.FromResult(_out.Wants(e)));
        await follower.FollowAsync(position.Value, filter, async (events, ct) =>
        {
            var sent = 0;
            long? done = null;
            try
            {
                foreach (var e in events)
                {
                    if (_out.Map(e) is not { } message)
                    {
                        LogRefusedOut(logger, name, e.Id, e.Channel, "the out-rule's topic template makes no valid topic of it");
                        State.AddRefused();
                        done = e.Id;
                        continue;
                    }

                    var result = await client.PublishAsync(message, ct);
                    done = e.Id;
                    if (!result.IsSuccess)
                    {
                        // Refused by the broker (not authorized, a bad topic): sending it again would be refused again.
                        LogRefusedOut(logger, name, e.Id, e.Channel, $"the broker answered {result.ReasonCode} {result.ReasonString}");
                        State.AddRefused();
                        continue;
                    }

                    sent++;
                }
            }
            finally
            {
                State.AddOut(sent);
                if (done is { } id)
                {
                    // Saved even when the bus is stopping: what the broker acknowledged is not sent again after a
                    // clean restart (a crash between the PUBACK and this write still resends: at least once).
                    await positions.SavePositionAsync(PositionKey, id, time.GetUtcNow(), CancellationToken.None);
                }
            }
        }, TimeSpan.FromMinutes(1), null, cancellationToken);
    }

    private async Task DisconnectAsync(IMqttClient client)
    {
        if (!client.IsConnected)
        {
            return;
        }

        try
        {
            // A normal disconnect keeps the session (clean start is off): the broker queues for us until it expires.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDisconnectFailed(logger, name, ex.Message);
        }
    }

    private void Failed(Exception ex)
    {
        var message = ex is MqttConnectingFailedException { InnerException: { } inner } ? $"{ex.Message} ({inner.Message})" : ex.Message;
        State.Failed(message, time.GetUtcNow());
        LogFailed(logger, name, message);
    }

    /// <summary>The URL without credentials, for health and logs.</summary>
    private static string Redacted(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0 ? url.Replace(uri.UserInfo + "@", "", StringComparison.Ordinal) : url;

    private sealed record Received(PublishRequest Request, MqttApplicationMessageReceivedEventArgs Args, int Connection);

    [LoggerMessage(EventId = 1450, Level = LogLevel.Information, Message = "MQTT bridge {Bridge} connected to {Broker} (session present: {SessionPresent})")]
    private static partial void LogConnected(ILogger logger, string bridge, string broker, bool sessionPresent);

    [LoggerMessage(EventId = 1451, Level = LogLevel.Warning, Message = "MQTT bridge {Bridge}: {Error}")]
    private static partial void LogFailed(ILogger logger, string bridge, string error);

    [LoggerMessage(EventId = 1452, Level = LogLevel.Warning, Message = "MQTT bridge {Bridge} lost its connection")]
    private static partial void LogLost(ILogger logger, string bridge);

    [LoggerMessage(EventId = 1453, Level = LogLevel.Information, Message = "MQTT bridge {Bridge} reconnects in {Seconds:0.0} s")]
    private static partial void LogReconnecting(ILogger logger, string bridge, double seconds);

    [LoggerMessage(EventId = 1454, Level = LogLevel.Warning, Message = "MQTT bridge {Bridge} skipped a message on {Topic}: {Reason}")]
    private static partial void LogRefusedIn(ILogger logger, string bridge, string topic, string reason);

    [LoggerMessage(EventId = 1455, Level = LogLevel.Warning, Message = "MQTT bridge {Bridge} skipped event {EventId} on {Channel}: {Reason}")]
    private static partial void LogRefusedOut(ILogger logger, string bridge, long eventId, string channel, string reason);

    [LoggerMessage(EventId = 1456, Level = LogLevel.Debug, Message = "MQTT bridge {Bridge} could not acknowledge a stored message (it will be redelivered): {Error}")]
    private static partial void LogAckFailed(ILogger logger, string bridge, string error);

    [LoggerMessage(EventId = 1457, Level = LogLevel.Debug, Message = "MQTT bridge {Bridge} disconnect: {Error}")]
    private static partial void LogDisconnectFailed(ILogger logger, string bridge, string error);
}
