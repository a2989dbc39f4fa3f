using EventBus.Server.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Tests.Mqtt;

/// <summary>Bad <c>EventBus:Mqtt</c> settings stop the start with a message naming the setting.</summary>
public sealed class MqttOptionsTests
{
    [Theory]
    [InlineData("--EventBus:Mqtt:Bridges:b:Url=http://broker", "EventBus:Mqtt:Bridges:b:Url must be mqtt://")]
    [InlineData("--EventBus:Mqtt:Bridges:b:In:0:Topic=plant/#/x", "EventBus:Mqtt:Bridges:b:In:0:Topic \"plant/#/x\" is not a valid topic filter")]
    [InlineData("--EventBus:Mqtt:Bridges:b:In:0:Level=urgent", "EventBus:Mqtt:Bridges:b:In:0:Level must be one of lifecycle, info, actionable")]
    [InlineData("--EventBus:Mqtt:Bridges:b:Out:0:Channel=alerts:x#", "EventBus:Mqtt:Bridges:b:Out:0:Channel")]
    [InlineData("--EventBus:Mqtt:Bridges:b:Out:0:Qos=2", "EventBus:Mqtt:Bridges:b:Out:0:Qos must be 0 or 1")]
    public async Task BadBridgeSettings_FailTheStart_NamingTheSetting(string bad, string expected)
    {
        string[] args = ["--EventBus:Mqtt:Bridges:b:Url=mqtt://127.0.0.1:1", "--EventBus:Mqtt:Bridges:b:In:0:Topic=plant/#", bad];
        var start = () => BusHost.StartAsync(false, args);

        (await start.Should().ThrowAsync<EventBus.Server.Hosting.ConfigurationException>()).Which.Message.Should().Contain(expected);
    }

    [Fact]
    public async Task ABridgeWithoutRules_FailsTheStart()
    {
        var start = () => BusHost.StartAsync(false, "--EventBus:Mqtt:Bridges:empty:Url=mqtt://127.0.0.1:1");
        (await start.Should().ThrowAsync<EventBus.Server.Hosting.ConfigurationException>()).Which.Message.Should().Contain("has no rules");
    }
}
