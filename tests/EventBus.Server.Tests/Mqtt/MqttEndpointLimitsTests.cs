using System.Globalization;
using EventBus.Core.Security;
using EventBus.Server.Mqtt.Endpoint;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Mqtt;

/// <summary>The per-caller publish rate holds for MQTT clients as it does over HTTP: by token, QUOTA_EXCEEDED beyond it.</summary>
public sealed class MqttEndpointLimitsTests
{
    [Fact]
    public async Task Publishes_BeyondTheCallersRate_AreRefused_AndNotStored()
    {
        await using var host = await BusHost.StartAsync(
            false, "--EventBus:Mqtt:Listen=0", "--EventBus:Limits:PublishPerSecond=1", "--EventBus:Limits:PublishBurst=2");
        await host.Service<MqttEndpointState>().Started.WaitAsync(TestTimeouts.Default);
        var port = host.Service<MqttEndpointState>().TcpPort!.Value.ToString(CultureInfo.InvariantCulture);
        var token = await host.CreateTokenAsync("mqtt-device", TokenScope.Publish);

        // Ten QoS 1 publishes on one connection, back to back: the burst (2) goes in, the rest are refused.
        await MosquittoClients.TryRunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-u", "bus", "-P", token, "-q", "1", "-t", "limited/x", "-m", "m",
             "--repeat", "10"]);

        var admin = await host.CreateTokenAsync("reader", TokenScope.Admin);
        host.Http.DefaultRequestHeaders.Authorization = new("Bearer", admin);
        var stored = (await host.GetJsonAsync("/api/v1/events?cursor=0&channel=mqtt:limited/x&limit=100")).GetProperty("events").GetArrayLength();
        stored.Should().BeInRange(2, 4, "the burst of 2 is stored, plus at most what the 1/s rate refills meanwhile");
        host.Service<MqttEndpointState>().Report().MessagesRefused.Should().BeGreaterThanOrEqualTo(10 - stored);
    }
}
