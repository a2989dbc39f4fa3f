using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using EventBus.Bench.Clients;

namespace EventBus.Bench.Webhooks;

/// <summary>
/// <c>EventBus.Bench webhooks</c>: what webhooks cost and deliver, against a server started with private webhooks
/// allowed (scripts/bench.sh). In one run:
/// <list type="number">
/// <item>publish throughput (MCP <c>publish_event</c>, closed loop) with no webhook registered;</item>
/// <item>100 webhooks registered, one per channel, each pointing at a local receiver; publish throughput while every
///   event matches one webhook and is delivered meanwhile, and while none matches (registered, idle);</item>
/// <item>drain: a backlog of events spread over the 100 endpoints, timed from the first publish to the last delivery
///   (deliveries per second);</item>
/// <item>latency: 200 events/s, paced, each timed from its publish call to the receiver's first byte (an upper bound
///   of commit → first byte: it includes the publish's own round trip).</item>
/// </list>
/// Throughput phases alternate (none, matching, idle) for each rep and report medians.
/// </summary>
internal static class WebhookBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var o = WebhookBenchOptions.Parse(args);
        var mcp = new Uri(o.Mcp);
        var api = new Uri(mcp, "/");
        await using var receiver = await DeliveryReceiver.StartAsync(ct);
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };
        var sessions = new List<McpSession>();
        try
        {
            for (var i = 0; i < o.Clients; i++)
            {
                sessions.Add(await McpSession.OpenAsync(mcp, $"bench-webhooks-{i}", ct));
            }

            Log($"receiver at {receiver.BaseUri}, {o.Clients} MCP clients, {o.Endpoints} endpoints, {o.Duration.TotalSeconds:0} s phases, {o.Reps} reps");
            await PublishPhaseAsync(sessions, _ => "bench:warmup", o.Warmup, ct);
            var none = new List<double>();
            var matching = new List<double>();
            var idle = new List<double>();
            var hooks = new List<string>();
            for (var rep = 0; rep < o.Reps; rep++)
            {
                await SetHooksAsync(sessions[0], hooks, active: false, ct);
                none.Add(await PublishPhaseAsync(sessions, _ => "bench:none", o.Duration, ct));
                if (hooks.Count == 0)
                {
                    for (var i = 0; i < o.Endpoints; i++)
                    {
                        var reply = await sessions[0].CallToolJsonAsync("register_webhook",
                            JsonSerializer.Serialize(new { url = new Uri(receiver.BaseUri, $"/hook/{i}").ToString(), channel = Channel(i) }), ct);
                        hooks.Add(reply.GetProperty("webhook_id").GetString()!);
                    }
                }
                else
                {
                    await SetHooksAsync(sessions[0], hooks, active: true, ct);
                }

                receiver.Reset();
                matching.Add(await PublishPhaseAsync(sessions, n => Channel((int)(n % o.Endpoints)), o.Duration, ct));
                await WaitForAsync(() => receiver.Requests, (long)(matching[^1] * o.Duration.TotalSeconds * 0.999), ct);
                idle.Add(await PublishPhaseAsync(sessions, _ => "bench:idle", o.Duration, ct));
                Log($"rep {rep + 1}: publish/s none {none[^1]:N0}, matching {matching[^1]:N0}, idle {idle[^1]:N0}");
            }

            var drain = await DrainAsync(http, receiver, o, ct);
            var (p50, p99, samples) = await LatencyAsync(sessions[0], receiver, o, ct);

            var result = new
            {
                endpoints = o.Endpoints,
                clients = o.Clients,
                phase_seconds = o.Duration.TotalSeconds,
                reps = o.Reps,
                publish_per_s_no_webhooks = Median(none),
                publish_per_s_100_matching = Median(matching),
                publish_per_s_100_registered_idle = Median(idle),
                ratio_matching = Median(matching) / Median(none),
                ratio_idle = Median(idle) / Median(none),
                drain_events = drain.Events,
                drain_seconds = drain.Seconds,
                deliveries_per_s = drain.Events / drain.Seconds,
                latency_samples = samples,
                latency_p50_ms = p50,
                latency_p99_ms = p99,
                raw = new { none, matching, idle },
            };
            Console.WriteLine();
            Console.WriteLine($"| Webhooks ({o.Endpoints} endpoints, {o.Clients} clients) | median |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| publish/s, no webhooks | {result.publish_per_s_no_webhooks:N0} |");
            Console.WriteLine($"| publish/s, {o.Endpoints} webhooks, every event delivered meanwhile | {result.publish_per_s_100_matching:N0} ({result.ratio_matching:P0}) |");
            Console.WriteLine($"| publish/s, {o.Endpoints} webhooks registered, none matching | {result.publish_per_s_100_registered_idle:N0} ({result.ratio_idle:P0}) |");
            Console.WriteLine($"| deliveries/s (backlog of {drain.Events:N0} over {o.Endpoints} endpoints) | {result.deliveries_per_s:N0} |");
            Console.WriteLine($"| publish call → receiver first byte, 200 events/s (n={samples}) | p50 {p50:F2} ms, p99 {p99:F2} ms |");
            if (o.Out is { } outDir)
            {
                Directory.CreateDirectory(outDir);
                var file = Path.Combine(outDir, $"webhooks-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
                await File.WriteAllTextAsync(file, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }), ct);
                Log($"wrote {file}");
            }

            return 0;
        }
        finally
        {
            foreach (var s in sessions)
            {
                await s.DisposeAsync();
            }
        }
    }

    private static string Channel(int i) => $"bench:wh:{i:000}";

    private static async Task SetHooksAsync(McpSession session, List<string> hooks, bool active, CancellationToken ct)
    {
        foreach (var id in hooks)
        {
            await session.CallToolJsonAsync("set_webhook_active", JsonSerializer.Serialize(new { webhook_id = id, active }), ct);
        }
    }

    /// <summary>Closed-loop publishes from every session for <paramref name="duration"/>; returns publishes per second.</summary>
    private static async Task<double> PublishPhaseAsync(List<McpSession> sessions, Func<long, string> channel, TimeSpan duration, CancellationToken ct)
    {
        long counter = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var start = Stopwatch.GetTimestamp();
        var loops = sessions.Select(s => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var n = Interlocked.Increment(ref counter);
                var args = $$"""{"event_type":"bench_tick","payload":"webhook bench {{n}}","channel":"{{channel(n)}}"}""";
                if (!await s.CallToolAsync("publish_event", args, "\"event_id\""u8.ToArray(), ct))
                {
                    throw new BenchException("publish_event failed during the webhook bench.");
                }
            }
        }, ct)).ToList();
        await Task.WhenAll(loops);
        return Interlocked.Read(ref counter) / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>A backlog spread over every endpoint (REST batches), timed from the first publish to the last delivery.</summary>
    private static async Task<(int Events, double Seconds)> DrainAsync(HttpClient http, DeliveryReceiver receiver, WebhookBenchOptions o, CancellationToken ct)
    {
        await WaitForQuietAsync(receiver, ct);
        receiver.Reset();
        var total = o.DrainEvents;
        var start = Stopwatch.GetTimestamp();
        for (var sent = 0; sent < total; sent += 1000)
        {
            var batch = Enumerable.Range(sent, Math.Min(1000, total - sent))
                .Select(i => new { event_type = "bench_drain", payload = "drain " + i.ToString(CultureInfo.InvariantCulture), channel = Channel(i % o.Endpoints) })
                .ToArray();
            using var response = await http.PostAsJsonAsync("api/v1/events:batch", batch, ct);
            response.EnsureSuccessStatusCode();
        }

        await WaitForAsync(() => receiver.Requests, total, ct);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Log($"drain: {total:N0} deliveries in {seconds:F2} s");
        return (total, seconds);
    }

    /// <summary>Paced publishes; each event's publish call start to its arrival at the receiver.</summary>
    private static async Task<(double P50, double P99, int Samples)> LatencyAsync(
        McpSession session, DeliveryReceiver receiver, WebhookBenchOptions o, CancellationToken ct)
    {
        await WaitForQuietAsync(receiver, ct);
        receiver.Reset();
        var sentAt = new Dictionary<long, long>();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        var count = (int)(o.Duration.TotalSeconds * 200);
        for (var i = 0; i < count && await timer.WaitForNextTickAsync(ct); i++)
        {
            var started = Stopwatch.GetTimestamp();
            var reply = await session.CallToolJsonAsync("publish_event",
                $$"""{"event_type":"bench_latency","payload":"latency {{i}}","channel":"{{Channel(i % o.Endpoints)}}"}""", ct);
            sentAt[reply.GetProperty("event_id").GetInt64()] = started;
        }

        await WaitForAsync(() => sentAt.Keys.Count(receiver.Arrivals.ContainsKey), sentAt.Count, ct);
        var ms = sentAt.Select(kv => (receiver.Arrivals[kv.Key] - kv.Value) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        return (ms[(int)(ms.Length * 0.50)], ms[Math.Min(ms.Length - 1, (int)(ms.Length * 0.99))], ms.Length);
    }

    private static async Task WaitForQuietAsync(DeliveryReceiver receiver, CancellationToken ct)
    {
        var last = -1L;
        while (receiver.Requests != last)
        {
            last = receiver.Requests;
            await Task.Delay(500, ct);
        }
    }

    private static async Task WaitForAsync(Func<long> current, long target, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
        while (current() < target)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new BenchException($"only {current():N0} of {target:N0} deliveries arrived within 120 s.");
            }

            await Task.Delay(2, ct);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Log(string message) => Console.Error.WriteLine($"[bench webhooks] {message}");
}

/// <summary>Options of the webhooks subcommand.</summary>
internal sealed record WebhookBenchOptions(
    string Mcp, int Endpoints, int Clients, TimeSpan Duration, TimeSpan Warmup, int Reps, int DrainEvents, string? Out)
{
    public static WebhookBenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new BenchException($"webhooks: expected --name value pairs, got \"{args[i]}\".");
            }

            values[args[i][2..]] = args[i + 1];
        }

        int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new WebhookBenchOptions(
            values.TryGetValue("mcp", out var mcp) ? mcp : throw new BenchException("webhooks needs --mcp <url>."),
            Int("endpoints", 100), Int("clients", 8), TimeSpan.FromSeconds(Int("duration", 5)), TimeSpan.FromSeconds(Int("warmup", 5)),
            Int("reps", 3), Int("drain-events", 20_000), values.GetValueOrDefault("out"));
    }
}
