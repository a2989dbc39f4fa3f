using EventBus.Server.Mqtt.Bridge;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Mqtt;

/// <summary>The bridge speaking MQTT 3.1.1 (clean session off) to a real Mosquitto, both directions.</summary>
public sealed class MqttBridgeV311Tests
{
    [Fact]
    public async Task Bridge_OnMqtt311_CarriesMessagesBothWays()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var host = await BusHost.StartAsync(false,
            $"--EventBus:Mqtt:Bridges:old:Url={broker.Url}",
            "--EventBus:Mqtt:Bridges:old:ProtocolVersion=3.1.1",
            "--EventBus:Mqtt:Bridges:old:In:0:Topic=legacy/#",
            "--EventBus:Mqtt:Bridges:old:Out:0:Channel=alerts:#",
            "--EventBus:Mqtt:Bridges:old:Out:0:Topic=out/{tail}");
        var bridge = host.Service<MqttBridgeService>().Bridges.Single();
        await Waiting.UntilAsync(bridge.State.Changed, () => bridge.State.IsConnected);
        await MosquittoClients.SubscribeSessionAsync(broker.Port, "watcher-311", "out/#");

        await MosquittoClients.PublishAsync(broker.Port, "legacy/meter", "42");
        await host.PostApiAsync("/api/v1/events", """{"event_type":"alarm","payload":"old school","channel":"alerts:meter"}""");

        await Waiting.UntilCommittedAsync(host.Service<EventBus.Core.Events.CommitSignal>(), async () =>
            (await host.GetJsonAsync("/api/v1/events?cursor=0&channel=mqtt:legacy/meter")).GetProperty("events").GetArrayLength() == 1);
        (await MosquittoClients.ReceiveAsync(broker.Port, "watcher-311", "out/#", 1)).Should().Equal("out/meter old school");
    }
}
