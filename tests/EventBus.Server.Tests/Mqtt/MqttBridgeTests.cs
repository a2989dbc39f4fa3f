using System.Text.Json;
using EventBus.Core.Events;
using EventBus.Server.Mqtt.Bridge;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Tests.Mqtt;

/// <summary>The bridge between a real Mosquitto broker and a real host, driven by mosquitto_pub and mosquitto_sub.</summary>
public sealed class MqttBridgeTests : IAsyncLifetime
{
    private Mosquitto _broker = null!;
    private BusHost _host = null!;

    public async Task InitializeAsync()
    {
        _broker = await Mosquitto.StartAsync();
        _host = await StartBusAsync(null);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _broker.DisposeAsync();
    }

    private Task<BusHost> StartBusAsync(string? directory)
    {
        string[] args =
        [
            $"--EventBus:Mqtt:Bridges:plant:Url={_broker.Url}",
            "--EventBus:Mqtt:Bridges:plant:ReconnectDelay=00:00:00.200",
            "--EventBus:Mqtt:Bridges:plant:ReconnectMaxDelay=00:00:01",
            "--EventBus:Mqtt:Bridges:plant:In:0:Topic=plant/#",
            "--EventBus:Mqtt:Bridges:plant:In:0:EventType=telemetry",
            "--EventBus:Mqtt:Bridges:plant:In:0:LevelByTopic:plant/+/alarm=actionable",
            "--EventBus:Mqtt:Bridges:plant:In:0:LevelField=severity",
            "--EventBus:Mqtt:Bridges:plant:Out:0:Channel=alerts:#",
            "--EventBus:Mqtt:Bridges:plant:Out:0:Topic=bus/alerts/{tail}",
            // Overlaps the in-rule on purpose: what came in from plant/# must not go back out (no loop).
            "--EventBus:Mqtt:Bridges:plant:Out:1:Channel=mqtt:#",
            "--EventBus:Mqtt:Bridges:plant:Out:1:Topic={tail}",
        ];
        return directory is null ? BusHost.StartAsync(false, args) : BusHost.StartInAsync(directory, false, args);
    }

    private static MqttBridge Bridge(BusHost host) => host.Service<MqttBridgeService>().Bridges.Single();

    private static Task ConnectedAsync(BusHost host, long connects = 1) =>
        Waiting.UntilAsync(Bridge(host).State.Changed, () => Bridge(host).State.IsConnected && Bridge(host).State.Connects >= connects);

    private static async Task<JsonElement[]> EventsOnAsync(BusHost host, string channel) =>
        (await host.GetJsonAsync($"/api/v1/events?cursor=0&order=asc&limit=100&channel={Uri.EscapeDataString(channel)}"))
        .GetProperty("events").EnumerateArray().ToArray();

    private static async Task<JsonElement[]> WaitForEventsAsync(BusHost host, string channel, int count)
    {
        JsonElement[] events = [];
        await Waiting.UntilCommittedAsync(host.Service<CommitSignal>(), async () => (events = await EventsOnAsync(host, channel)).Length >= count);
        return events;
    }

    [Fact]
    public async Task BrokerMessage_BecomesAnEvent_OnTheMappedChannel_WithTheMappedTypeAndLevel()
    {
        await ConnectedAsync(_host);

        await MosquittoClients.PublishAsync(_broker.Port, "plant/boiler/temp", "81.5");
        await MosquittoClients.PublishAsync(_broker.Port, "plant/boiler/alarm", "overheat");
        await MosquittoClients.PublishAsync(_broker.Port, "plant/pump/state", """{"rpm":0,"severity":"actionable"}""");
        await MosquittoClients.PublishAsync(_broker.Port, "office/coffee", "empty");

        var temp = (await WaitForEventsAsync(_host, "mqtt:plant/boiler/temp", 1)).Single();
        temp.GetProperty("payload").GetString().Should().Be("81.5");
        temp.GetProperty("event_type").GetString().Should().Be("telemetry");
        temp.GetProperty("signal_level").GetString().Should().Be("info");
        temp.GetProperty("session_id").GetString().Should().Be("mqtt-bridge:plant");
        (await WaitForEventsAsync(_host, "mqtt:plant/boiler/alarm", 1)).Single().GetProperty("signal_level").GetString().Should().Be("actionable");
        (await WaitForEventsAsync(_host, "mqtt:plant/pump/state", 1)).Single().GetProperty("signal_level").GetString().Should().Be("actionable");
        (await EventsOnAsync(_host, "mqtt:office/coffee")).Should().BeEmpty();
    }

    [Fact]
    public async Task BinaryPayload_IsKeptAsBase64_WithATag()
    {
        await ConnectedAsync(_host);
        var file = Path.Combine(_host.Directory, "blob.bin");
        byte[] bytes = [0xff, 0x00, 0xfe, 0x80];
        await File.WriteAllBytesAsync(file, bytes);

        await MosquittoClients.PublishFileAsync(_broker.Port, "plant/camera/frame", file);

        var e = (await WaitForEventsAsync(_host, "mqtt:plant/camera/frame", 1)).Single();
        Convert.FromBase64String(e.GetProperty("payload").GetString()!).Should().Equal(bytes);
        e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Contain("base64");
    }

    [Fact]
    public async Task BusEvent_OnABridgedChannel_ReachesASubscriber_OnTheMappedTopic()
    {
        await ConnectedAsync(_host);
        await MosquittoClients.SubscribeSessionAsync(_broker.Port, "watcher-out", "bus/alerts/#");

        await _host.PostApiAsync("/api/v1/events", """{"event_type":"alarm","payload":"boiler too hot","channel":"alerts:boiler"}""");
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"chatter","payload":"not bridged","channel":"repo:x"}""");
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"dm","payload":"private","channel":"session:abc"}""");

        var lines = await MosquittoClients.ReceiveAsync(_broker.Port, "watcher-out", "bus/alerts/#", 1);
        lines.Should().Equal("bus/alerts/boiler boiler too hot");
    }

    [Fact]
    public async Task MessageFromTheBroker_IsNotSentBackOut_ThoughAnOutRuleMatchesItsChannel()
    {
        await ConnectedAsync(_host);
        await MosquittoClients.SubscribeSessionAsync(_broker.Port, "watcher-loop", "plant/#");

        await MosquittoClients.PublishAsync(_broker.Port, "plant/loop/check", "once");
        await WaitForEventsAsync(_host, "mqtt:plant/loop/check", 1);
        // A marker from the bus itself goes out through the same rule, after anything the loop would have sent.
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"marker","payload":"marker","channel":"mqtt:plant/loop/marker"}""");

        var lines = await MosquittoClients.ReceiveAsync(_broker.Port, "watcher-loop", "plant/#", 2);
        lines.Should().Equal("plant/loop/check once", "plant/loop/marker marker");
        // And the marker did not come back in (no local): one event on its channel.
        await Waiting.UntilAsync(Bridge(_host).State.Changed, () => Bridge(_host).State.MessagesOut == 1);
        (await EventsOnAsync(_host, "mqtt:plant/loop/marker")).Should().HaveCount(1);
    }

    [Fact]
    public async Task BrokerRestart_TheBridgeReconnects_AndNothingPublishedMeanwhileOnEitherSideIsLost()
    {
        await ConnectedAsync(_host);
        await MosquittoClients.SubscribeSessionAsync(_broker.Port, "watcher-restart", "bus/alerts/#");
        await MosquittoClients.PublishAsync(_broker.Port, "plant/line/1", "before");
        await WaitForEventsAsync(_host, "mqtt:plant/line/1", 1);

        await _broker.StopAsync();
        await Waiting.UntilAsync(Bridge(_host).State.Changed, () => !Bridge(_host).State.IsConnected);
        // Bus side, while the broker is down.
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"alarm","payload":"during-1","channel":"alerts:line"}""");
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"alarm","payload":"during-2","channel":"alerts:line"}""");

        await _broker.StartAgainAsync();
        // Broker side, as soon as it is back (the bridge may or may not have reconnected yet: its session queues it).
        await MosquittoClients.PublishAsync(_broker.Port, "plant/line/1", "after-restart");
        await ConnectedAsync(_host, connects: 2);

        var lines = await MosquittoClients.ReceiveAsync(_broker.Port, "watcher-restart", "bus/alerts/#", 2);
        lines.Should().Equal("bus/alerts/line during-1", "bus/alerts/line during-2");
        var events = await WaitForEventsAsync(_host, "mqtt:plant/line/1", 2);
        events.Select(e => e.GetProperty("payload").GetString()).Should().Equal("before", "after-restart");
        _host.Service<IOptions<EventBus.Server.Mqtt.MqttOptions>>().Value.Bridges.Should().ContainKey("plant");
    }

    [Fact]
    public async Task BusRestart_ResumesFromTheSavedPosition_NeitherLosingNorResending()
    {
        await ConnectedAsync(_host);
        await MosquittoClients.SubscribeSessionAsync(_broker.Port, "watcher-bus-restart", "bus/alerts/#");
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"alarm","payload":"first","channel":"alerts:a"}""");
        (await MosquittoClients.ReceiveAsync(_broker.Port, "watcher-bus-restart", "bus/alerts/#", 1)).Should().Equal("bus/alerts/a first");

        _host.KeepDirectory = true;
        var directory = _host.Directory;
        await _host.DisposeAsync();
        _host = await StartBusAsync(directory);
        await ConnectedAsync(_host);
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"alarm","payload":"second","channel":"alerts:a"}""");

        // Had the position been lost, "first" would come again before "second".
        (await MosquittoClients.ReceiveAsync(_broker.Port, "watcher-bus-restart", "bus/alerts/#", 1)).Should().Equal("bus/alerts/a second");
        Bridge(_host).State.MessagesOut.Should().Be(1);
    }

    [Fact]
    public async Task Health_ShowsEachBridge()
    {
        await ConnectedAsync(_host);
        await MosquittoClients.PublishAsync(_broker.Port, "plant/health/x", "1");
        await WaitForEventsAsync(_host, "mqtt:plant/health/x", 1);

        var health = await _host.GetJsonAsync("/health");
        var bridge = health.GetProperty("mqtt").GetProperty("bridges")[0];
        bridge.GetProperty("name").GetString().Should().Be("plant");
        bridge.GetProperty("connected").GetBoolean().Should().BeTrue();
        bridge.GetProperty("messages_in").GetInt64().Should().Be(1);
        bridge.GetProperty("broker").GetString().Should().Be(_broker.Url);

        // The dashboard's health view reads the same from /api/v1/health.
        var api = (await _host.GetJsonAsync("/api/v1/health")).GetProperty("mqtt").GetProperty("bridges")[0];
        api.GetProperty("name").GetString().Should().Be("plant");
        api.GetProperty("connected").GetBoolean().Should().BeTrue();
    }
}
