using EventBus.Core.Events;
using EventBus.Core.Store;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EventBus.Server.Mqtt.Endpoint;

/// <summary>
/// Bus events on <c>mqtt:</c> channels to the endpoint's subscribers: one <see cref="EventFollower"/> from the tip at
/// start, each event injected into MQTTnet's server on topic = channel less <c>mqtt:</c>, at QoS 1, so the server's own
/// subscription matching and per-session queues deliver it. An event a client published carries its client id as the
/// sender, so MQTT 5's no-local works.
/// </summary>
internal sealed partial class MqttEndpointRelay(
    MqttServer server, EventFollower follower, IEventStore store, MqttEndpointState state, ILogger<MqttEndpointRelay> logger) : BackgroundService
{
    private static readonly string ClientOriginPrefix = MqttEndpointHandlers.Origin("");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await state.Started.WaitAsync(stoppingToken);
            var position = await store.GetTipAsync(stoppingToken);
            var filter = new FollowFilter(Accept: (e, _) => ValueTask.FromResult(e.Channel.StartsWith(MqttTopics.ChannelPrefix, StringComparison.Ordinal)));
            await follower.FollowAsync(position, filter, DeliverAsync, TimeSpan.FromMinutes(1), null, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async ValueTask DeliverAsync(IReadOnlyList<BusEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            var topic = e.Channel[MqttTopics.ChannelPrefix.Length..];
            if (!MqttTopics.IsPublishable(topic))
            {
                LogSkipped(logger, e.Id, e.Channel);
                continue;
            }

            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(MqttPayloads.ToBytes(e))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            var sender = e.SessionId.StartsWith(ClientOriginPrefix, StringComparison.Ordinal) ? e.SessionId[ClientOriginPrefix.Length..] : "";
            await server.InjectApplicationMessage(
                new InjectedMqttApplicationMessage(message) { SenderClientId = sender, CustomSessionItems = MqttEndpointHandlers.Injected },
                cancellationToken);
            state.AddOut();
        }
    }

    [LoggerMessage(EventId = 1475, Level = LogLevel.Debug, Message = "MQTT endpoint: event {EventId} on {Channel} has no valid topic; not delivered over MQTT")]
    private static partial void LogSkipped(ILogger logger, long eventId, string channel);
}
