using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace EventBus.Bench.Transports;

/// <summary>
/// MQTT into the bus: P publishers (QoS 1, each awaiting its PUBACK before the next) send M messages each. The peer:
/// the same broker delivering them to one plain MQTTnet subscriber. The bridge: the bus's bridge taking them in, counted
/// when the committed event shows on the bus's SSE stream. Latency: send → received (peer) or → committed event seen
/// (bridge), from a Stopwatch stamp in the payload (one process, one clock).
/// </summary>
internal sealed class MqttBench(string broker, int port, Uri bus, int publishers, int perPublisher, int payloadBytes)
{
    public sealed record Result(string Side, int Messages, double Seconds, double PerSecond, double P50Ms, double P99Ms);

    public async Task<Result> PeerAsync(string prefix, CancellationToken cancellationToken)
    {
        var total = publishers * perPublisher;
        var latencies = new List<long>(total);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            Record(latencies, Encoding.ASCII.GetString(e.ApplicationMessage.Payload), total, done);
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(Options($"peer-sub-{prefix}"), cancellationToken);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter($"{prefix}/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
        var seconds = await PublishAllAsync(prefix, done.Task, cancellationToken);
        await subscriber.DisconnectAsync(cancellationToken: cancellationToken);
        return Summarise("broker → MQTTnet subscriber", total, seconds, latencies);
    }

    public async Task<Result> BridgeAsync(string prefix, CancellationToken cancellationToken)
    {
        var total = publishers * perPublisher;
        var latencies = new List<long>(total);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var http = new HttpClient { BaseAddress = bus, Timeout = Timeout.InfiniteTimeSpan };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channelPrefix = "mqtt:" + prefix + "/";
        var reading = await SseReader.OpenAsync(http, "/api/v1/stream", e =>
        {
            if (e.GetProperty("channel").GetString()!.StartsWith(channelPrefix, StringComparison.Ordinal))
            {
                Record(latencies, e.GetProperty("payload").GetString()!, total, done);
            }
        }, stop.Token);
        var seconds = await PublishAllAsync(prefix, done.Task, cancellationToken);
        await stop.CancelAsync();
        await reading;
        return Summarise("broker → bridge → committed event", total, seconds, latencies);
    }

    private async Task<double> PublishAllAsync(string prefix, Task allArrived, CancellationToken cancellationToken)
    {
        var clients = new List<IMqttClient>();
        for (var p = 0; p < publishers; p++)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(Options($"pub-{prefix}-{p}"), cancellationToken);
            clients.Add(client);
        }

        var padding = new string('x', Math.Max(0, payloadBytes - 20));
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(clients.Select((client, p) => Task.Run(async () =>
        {
            for (var i = 0; i < perPublisher; i++)
            {
                var payload = Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture) + "|" + padding;
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"{prefix}/{p}").WithPayload(payload)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
            }
        }, cancellationToken)));
        await allArrived.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        foreach (var client in clients)
        {
            await client.DisconnectAsync(cancellationToken: cancellationToken);
            client.Dispose();
        }

        return seconds;
    }

    private static void Record(List<long> latencies, string payload, int total, TaskCompletionSource done)
    {
        var now = Stopwatch.GetTimestamp();
        var sent = long.Parse(payload.AsSpan(0, payload.IndexOf('|', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        lock (latencies)
        {
            latencies.Add(now - sent);
            if (latencies.Count == total)
            {
                done.TrySetResult();
            }
        }
    }

    private MqttClientOptions Options(string clientId) =>
        new MqttClientOptionsBuilder().WithTcpServer(broker, port).WithClientId(clientId).WithCleanStart().Build();

    private static Result Summarise(string side, int total, double seconds, List<long> latencies) =>
        new(side, total, seconds, total / seconds, Percentiles.Ms(latencies, 50), Percentiles.Ms(latencies, 99));
}
