using EventBus.Server.Health;
using EventBus.Server.Mqtt.Bridge;

namespace EventBus.Server.Mqtt;

/// <summary><c>/health</c>'s <c>mqtt</c> key: each bridge's state.</summary>
internal sealed class MqttHealth(MqttBridgeService bridges) : IHealthSection
{
    public string Key => "mqtt";

    public object Report() => new MqttReport(bridges.Bridges.Select(b => b.State.Report()).ToList());

    internal sealed record MqttReport(IReadOnlyList<BridgeReport> Bridges);
}
