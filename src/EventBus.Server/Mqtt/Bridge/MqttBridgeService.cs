using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace EventBus.Server.Mqtt.Bridge;

/// <summary>Runs every configured bridge, each in its own loop, for the life of the host.</summary>
internal sealed class MqttBridgeService : BackgroundService
{
    public MqttBridgeService(
        IOptions<MqttOptions> options, BusService bus, EventFollower follower, IPositionStore positions, IEventStore store,
        TimeProvider time, IOptions<HttpJsonOptions> json, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger<MqttBridge>();
        Bridges = options.Value.Bridges
            .Select(b => new MqttBridge(b.Key, b.Value, bus, follower, positions, store, time, json.Value.SerializerOptions, logger))
            .ToList();
    }

    public IReadOnlyList<MqttBridge> Bridges { get; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Bridges.Select(b => Task.Run(() => b.RunAsync(stoppingToken), stoppingToken)));
}
