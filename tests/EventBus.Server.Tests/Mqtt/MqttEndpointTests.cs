using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Mqtt.Endpoint;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;
using MQTTnet;
using MQTTnet.Protocol;

namespace EventBus.Server.Tests.Mqtt;

/// <summary>The bus's own MQTT endpoint, driven by mosquitto_pub/mosquitto_sub (3.1.1 and 5) and MQTTnet over WebSocket.</summary>
public sealed class MqttEndpointTests : IAsyncLifetime
{
    private BusHost _host = null!;

    private int Port => _host.Service<MqttEndpointState>().TcpPort!.Value;

    public async Task InitializeAsync()
    {
        _host = await BusHost.StartAsync(false, "--EventBus:Mqtt:Listen=0", "--EventBus:Mqtt:WebSocket=true");
        await _host.Service<MqttEndpointState>().Started.WaitAsync(TestTimeouts.Default);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private string[] Client(string version, params string[] args) =>
        ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-V", version, .. args];

    private async Task<JsonElement[]> WaitForEventsAsync(string channel, int count)
    {
        JsonElement[] events = [];
        await Waiting.UntilCommittedAsync(_host.Service<EventBus.Core.Events.CommitSignal>(), async () => (events = (await _host.GetJsonAsync(
            $"/api/v1/events?cursor=0&order=asc&limit=100&channel={Uri.EscapeDataString(channel)}")).GetProperty("events").EnumerateArray().ToArray()).Length >= count);
        return events;
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Publish_ToATopic_StoresAnEventOnTheMqttChannel(string version)
    {
        await MosquittoClients.RunAsync("mosquitto_pub", Client(version, "-q", "1", "-i", "dev-" + version, "-t", $"plant/{version}/temp", "-m", "81.5"));

        var e = (await WaitForEventsAsync($"mqtt:plant/{version}/temp", 1)).Single();
        e.GetProperty("payload").GetString().Should().Be("81.5");
        e.GetProperty("event_type").GetString().Should().Be("mqtt_message");
        e.GetProperty("session_id").GetString().Should().Be("mqtt-client:dev-" + version);
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Subscriber_ReceivesBusEvents_OnMatchingMqttChannels_Only(string version)
    {
        var id = "watch-" + version;
        await MosquittoClients.RunAsync("mosquitto_sub", Client(version, "-q", "1", "-c", "-i", id, "-t", "plant/#", "-E"));

        await _host.PostApiAsync("/api/v1/events", """{"event_type":"x","payload":"elsewhere","channel":"repo:plant"}""");
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"dm","payload":"private","channel":"session:plant"}""");
        await _host.PostApiAsync("/api/v1/events", """{"event_type":"x","payload":"hot","channel":"mqtt:plant/boiler"}""");

        var output = await MosquittoClients.RunAsync("mosquitto_sub", Client(version, "-q", "1", "-c", "-i", id, "-t", "plant/#", "-v", "-C", "1", "-W", "15"));
        output.Trim().Should().Be("plant/boiler hot");
    }

    [Fact]
    public async Task Retained_AndLastWill_BecomeEventsOfTheirOwnTypes()
    {
        await MosquittoClients.RunAsync("mosquitto_pub", Client("mqttv5", "-q", "1", "-r", "-t", "dev/1/config", "-m", "v2"));
        var retained = (await WaitForEventsAsync("mqtt:dev/1/config", 1)).Single();
        retained.GetProperty("event_type").GetString().Should().Be("mqtt_retained");

        var state = _host.Service<MqttEndpointState>();
        var before = state.Report().Clients;
        using var device = Process.Start(new ProcessStartInfo("mosquitto_sub",
            Client("mqttv5", "-i", "dev-1", "-t", "dev/1/cmd", "--will-topic", "dev/1/status", "--will-payload", "offline", "--will-qos", "1"))
        { RedirectStandardOutput = true })!;
        await Waiting.UntilAsync(state.ClientsChanged, () => state.Report().Clients > before);
        device.Kill(); // no DISCONNECT: the will is published
        await device.WaitForExitAsync(TestTimeouts.Token());

        var will = (await WaitForEventsAsync("mqtt:dev/1/status", 1)).Single();
        will.GetProperty("event_type").GetString().Should().Be("mqtt_will");
        will.GetProperty("payload").GetString().Should().Be("offline");
    }

    [Fact]
    public async Task WithTokens_AnonymousIsRefused_ReadMaySubscribeButNotPublish_PublishMay()
    {
        var reader = await _host.CreateTokenAsync("mqtt-read", TokenScope.Read);
        var publisher = await _host.CreateTokenAsync("mqtt-pub", TokenScope.Publish);

        var anonymous = await MosquittoClients.TryRunAsync("mosquitto_pub", Client("mqttv5", "-q", "1", "-t", "a/b", "-m", "anon"));
        anonymous.ExitCode.Should().NotBe(0, anonymous.Output);
        var wrong = await MosquittoClients.TryRunAsync("mosquitto_pub", Client("mqttv311", "-u", "bus", "-P", "ebt_wrong", "-q", "1", "-t", "a/b", "-m", "x"));
        wrong.ExitCode.Should().NotBe(0, wrong.Output);

        await MosquittoClients.RunAsync("mosquitto_sub", Client("mqttv5", "-u", "bus", "-P", reader, "-q", "1", "-c", "-i", "reader", "-t", "a/#", "-E"));
        await MosquittoClients.TryRunAsync("mosquitto_pub", Client("mqttv5", "-u", "bus", "-P", reader, "-q", "1", "-t", "a/read", "-m", "refused"));
        await MosquittoClients.TryRunAsync("mosquitto_pub", Client("mqttv311", "-u", "bus", "-P", reader, "-q", "1", "-t", "a/read", "-m", "refused"));
        await MosquittoClients.RunAsync("mosquitto_pub", Client("mqttv5", "-u", "bus", "-P", publisher, "-q", "1", "-t", "a/pub", "-m", "accepted"));

        var output = await MosquittoClients.RunAsync("mosquitto_sub",
            Client("mqttv5", "-u", "bus", "-P", reader, "-q", "1", "-c", "-i", "reader", "-t", "a/#", "-v", "-C", "1", "-W", "15"));
        output.Trim().Should().Be("a/pub accepted");
        var admin = await _host.CreateTokenAsync("mqtt-admin", TokenScope.Admin);
        _host.Http.DefaultRequestHeaders.Authorization = new("Bearer", admin);
        (await _host.GetJsonAsync("/api/v1/events?cursor=0&channel=mqtt:a/read")).GetProperty("events").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task TopicsNamingSessions_StayMqttChannels_NeverDirectMessages()
    {
        await MosquittoClients.RunAsync("mosquitto_pub", Client("mqttv5", "-q", "1", "-t", "session:victim", "-m", "spoof"));

        var e = (await WaitForEventsAsync("mqtt:session:victim", 1)).Single();
        e.GetProperty("channel").GetString().Should().Be("mqtt:session:victim");
    }

    [Fact]
    public async Task WebSocketClient_Subscribes_AndPublishes_AtMqtt()
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var received = new TaskCompletionSource<MqttApplicationMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += e =>
        {
            received.TrySetResult(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        var ws = _host.BaseUri.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + "/mqtt";
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithWebSocketServer(o => o.WithUri(ws)).WithClientId("ws-client").Build(), TestTimeouts.Token());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("ws/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), TestTimeouts.Token());

        await _host.PostApiAsync("/api/v1/events", """{"event_type":"x","payload":"to the browser","channel":"mqtt:ws/in"}""");
        var message = await received.Task.WaitAsync(TestTimeouts.Default);
        message.Topic.Should().Be("ws/in");
        Encoding.UTF8.GetString(message.Payload).Should().Be("to the browser");

        var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ws/out").WithPayload("from the browser")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), TestTimeouts.Token());
        result.IsSuccess.Should().BeTrue();
        (await WaitForEventsAsync("mqtt:ws/out", 1)).Single().GetProperty("payload").GetString().Should().Be("from the browser");
    }

    [Fact]
    public async Task Health_ShowsTheEndpoint()
    {
        var health = await _host.GetJsonAsync("/health");
        var endpoint = health.GetProperty("mqtt_endpoint");
        endpoint.GetProperty("running").GetBoolean().Should().BeTrue();
        endpoint.GetProperty("tcp_port").GetInt32().Should().Be(Port);
        endpoint.GetProperty("web_socket_path").GetString().Should().Be("/mqtt");
    }
}
