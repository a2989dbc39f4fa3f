using System.Globalization;
using System.Text.Json;

namespace EventBus.Bench.Transports;

/// <summary>
/// <c>EventBus.Bench transports --bus &lt;url&gt; --mqtt-port &lt;port&gt;</c>: the MQTT bridge's intake next to the broker
/// delivering to a plain subscriber, and WebSocket publish→receive next to SSE (<see cref="MqttBench"/>,
/// <see cref="StreamLatencyBench"/>), each side run <c>--reps</c> times, interleaved; medians reported.
/// </summary>
internal static class TransportBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = Parse(args);
        var bus = new Uri(Get(options, "bus") ?? throw new BenchException("transports needs --bus <http url>."));
        var reps = Int(options, "reps", 3);
        var parts = (Get(options, "parts") ?? "mqtt,ws").Split(',');
        var machine = MachineInfo.Collect();
        var report = new Dictionary<string, object> { ["machine"] = machine, ["reps"] = reps };
        Console.WriteLine($"transports: {machine.Cores} cores, {machine.CpuModel}, load {machine.LoadAverageAtStart}; {reps} rounds, medians");

        if (parts.Contains("mqtt"))
        {
            var port = Int(options, "mqtt-port", 0);
            var publishers = Int(options, "publishers", 8);
            var perPublisher = Int(options, "messages", 2500);
            var mqtt = new MqttBench("127.0.0.1", port, bus, publishers, perPublisher, Int(options, "payload-bytes", 64));
            var peer = new List<MqttBench.Result>();
            var bridge = new List<MqttBench.Result>();
            await mqtt.BridgeAsync("bench/warmup", cancellationToken); // JIT and first connections, not reported
            for (var r = 0; r < reps; r++)
            {
                peer.Add(await mqtt.PeerAsync($"peer{r}", cancellationToken));
                bridge.Add(await mqtt.BridgeAsync($"bench/{r}", cancellationToken));
            }

            var peerRate = Percentiles.Median(peer.Select(p => p.PerSecond));
            var bridgeRate = Percentiles.Median(bridge.Select(p => p.PerSecond));
            Console.WriteLine($"MQTT in, QoS 1, {publishers} publishers x {perPublisher} messages:");
            Print(peer);
            Print(bridge);
            Console.WriteLine($"  bridge / broker = {bridgeRate / peerRate:F2}");
            report["mqtt"] = new { publishers, per_publisher = perPublisher, peer, bridge, ratio = bridgeRate / peerRate };
        }

        if (parts.Contains("ws"))
        {
            var latency = new StreamLatencyBench(bus, Int(options, "ws-events", 2000), Int(options, "ws-warmup", 300));
            var ws = new List<StreamLatencyBench.Result>();
            var sse = new List<StreamLatencyBench.Result>();
            for (var r = 0; r < reps; r++)
            {
                var (w, s) = await latency.RunAsync($"bench:latency:{r}", cancellationToken);
                ws.Add(w);
                sse.Add(s);
            }

            Console.WriteLine("publish → receive (REST publish, one reader of each kind on the channel):");
            foreach (var side in new[] { ws, sse })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {side[0].Side,-28} p50 {Percentiles.Median(side.Select(x => x.P50Ms)),7:F3} ms   p99 {Percentiles.Median(side.Select(x => x.P99Ms)),7:F3} ms"));
            }

            var ratio = Percentiles.Median(ws.Select(x => x.P50Ms)) / Percentiles.Median(sse.Select(x => x.P50Ms));
            Console.WriteLine($"  WebSocket / SSE p50 = {ratio:F2}");
            report["streams"] = new { websocket = ws, sse, p50_ratio = ratio };
        }

        if (Get(options, "out") is { } directory)
        {
            Directory.CreateDirectory(directory);
            var file = Path.Combine(directory, $"transports-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(report, Report.Json), cancellationToken);
            Console.WriteLine($"results: {file}");
        }

        return 0;
    }

    private static void Print(List<MqttBench.Result> results) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {results[0].Side,-36} {Percentiles.Median(results.Select(r => r.PerSecond)),9:N0} msg/s   p50 {Percentiles.Median(results.Select(r => r.P50Ms)),7:F2} ms   p99 {Percentiles.Median(results.Select(r => r.P99Ms)),7:F2} ms"));

    private static Dictionary<string, string> Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new BenchException($"transports: expected --name value pairs (at \"{args[i]}\").");
            }

            options[args[i][2..]] = args[++i];
        }

        return options;
    }

    private static string? Get(Dictionary<string, string> options, string name) => options.GetValueOrDefault(name);

    private static int Int(Dictionary<string, string> options, string name, int fallback) =>
        Get(options, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
