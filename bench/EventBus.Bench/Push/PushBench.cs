using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Bench.Clients;
using EventBus.Bench.Load;
using EventBus.Core.Events;
using EventBus.Sqlite;
using Microsoft.Data.Sqlite;

namespace EventBus.Bench.Push;

/// <summary>
/// <c>EventBus.Bench push</c>: how fast a committed event reaches subscribers, next to Redis Streams in the same run;
/// whether a stuck subscriber changes a publisher's latency; the memory of 1,000 idle connected sessions; and batch
/// publish over REST next to SQLite's own batched insert.
/// </summary>
internal sealed class PushBench(BenchOptions options)
{
    private readonly string _payload = options.Payload();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var watch = Stopwatch.StartNew();
        var machine = MachineInfo.Collect();
        var mcp = options.Mcp ?? throw new BenchException("--mcp is required.");
        var (redisHost, redisPort) = RedisEndpoint();
        Phase.Progress($"push: {machine.Cores} cores, {machine.Runtime}, load average {machine.LoadAverageAtStart}");

        using var streams = PushRounds.StreamClient();
        await using var publisher = await McpSession.OpenAsync(mcp, "bench-push-publisher", cancellationToken);

        // First, on the fresh server: its memory then is what 1,000 held sessions cost, not what earlier phases left.
        var idle = await IdleAsync(mcp, streams, publisher, cancellationToken);
        var latency = new List<LatencyResult>();
        foreach (var size in options.PushSizes)
        {
            var bus = new List<LatencySample>();
            var redis = new List<LatencySample>();
            for (var round = 1; round <= options.PushRepetitions; round++)
            {
                bus.Add(await PushRounds.EventBusLatencyAsync(publisher, mcp, streams, size, options.PushEvents, options.PushWarmupEvents, _payload, cancellationToken));
                redis.Add(await RedisLatencyAsync(redisHost, redisPort, size, cancellationToken));
                Phase.Progress(
                    $"push round {round}/{options.PushRepetitions} x{size,-3}  eventbus p50 {bus[^1].P50Ms,6:F3} p99 {bus[^1].P99Ms,7:F3} max {bus[^1].MaxMs,7:F3} ms" +
                    $"   redis p50 {redis[^1].P50Ms,6:F3} p99 {redis[^1].P99Ms,7:F3} max {redis[^1].MaxMs,7:F3} ms");
            }

            latency.Add(new LatencyResult(size, options.PushEvents, PushRounds.Summarize(bus), PushRounds.Summarize(redis), bus, redis));
        }

        var stuck = await StuckAsync(mcp, streams, cancellationToken);
        var batch = await BatchAsync(mcp, cancellationToken);

        var report = new PushReport(started, watch.Elapsed.TotalSeconds, machine, options.PayloadBytes, latency, stuck, idle, batch);
        Print(report, Console.Out);
        var path = await WriteAsync(report, cancellationToken);
        Console.WriteLine();
        Console.WriteLine($"JSON: {path}");
        return stuck.Delivered == stuck.Published && idle.Reached == idle.Sessions && batch.All(p => p.Errors == 0) ? 0 : 1;
    }

    /// <summary>The same round for Redis Streams: consumers blocked in XREAD BLOCK, woken by the publisher's XADD.</summary>
    private async Task<LatencySample> RedisLatencyAsync(string host, int port, int size, CancellationToken cancellationToken)
    {
        var key = $"eventbus-bench-push-{Guid.NewGuid():N}";
        await using var producer = await RespConnection.ConnectAsync(host, port, cancellationToken);
        var consumers = new List<RedisConsumer>(size);
        try
        {
            for (var i = 0; i < size; i++)
            {
                consumers.Add(await RedisConsumer.StartAsync(host, port, key, cancellationToken));
            }

            var sent = new List<(long Key, long At)>(options.PushEvents);
            var replies = new List<double>(options.PushEvents);
            for (var k = -options.PushWarmupEvents; k < options.PushEvents; k++)
            {
                var seq = k + options.PushWarmupEvents + 1;
                var xadd = RespConnection.Encode("XADD", key, "*", "seq", seq.ToString(CultureInfo.InvariantCulture), "payload", _payload);
                var t0 = Stopwatch.GetTimestamp();
                if (await producer.ExecuteAsync(xadd, cancellationToken) is not string)
                {
                    throw new BenchException("Redis XADD did not return an entry id.");
                }

                var t1 = Stopwatch.GetTimestamp();
                await PushRounds.AllReachedAsync(consumers.Select(c => c.Arrivals), seq, () => consumers.Select(c => c.Failure), cancellationToken);
                if (k >= 0)
                {
                    sent.Add((seq, t0));
                    replies.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
                }
            }

            return PushRounds.Latencies(sent, consumers.Select(c => c.Arrivals).ToList()) with { ReplyP50Ms = Report.Median(replies) };
        }
        finally
        {
            foreach (var consumer in consumers)
            {
                await consumer.DisposeAsync();
            }

            await producer.ExecuteAsync(RespConnection.Encode("DEL", key), cancellationToken);
        }
    }

    /// <summary>
    /// Publisher latency (×<see cref="BenchOptions.Clients"/>, closed loop, publishing to a channel a live subscriber
    /// follows) without and with one more subscriber whose socket never reads, in interleaved rounds. Afterwards the
    /// live subscriber must have received every event published.
    /// </summary>
    private async Task<StuckResult> StuckAsync(Uri mcp, HttpClient streams, CancellationToken cancellationToken)
    {
        const string Channel = "bench:stuck";
        await using var live = await ChannelListener.OpenAsync(mcp, streams, "bench-live", Channel, "info", cancellationToken);
        var publishers = new List<McpSession>();
        try
        {
            for (var i = 0; i < options.Clients; i++)
            {
                publishers.Add(await McpSession.OpenAsync(mcp, $"bench-stuck-publisher-{i}", cancellationToken));
            }

            var args = JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["event_type"] = "bench",
                ["payload"] = _payload,
                ["channel"] = Channel,
            });
            var eventId = "\"event_id\":"u8.ToArray();
            long published = 0;
            var ops = publishers.Select<McpSession, Operation>(s => async ct =>
            {
                var ok = await s.CallToolAsync("publish_event", args, eventId, ct);
                if (ok)
                {
                    Interlocked.Increment(ref published);
                }

                return ok;
            }).ToList();
            var cpu = new CpuMeter(options.ServerPid, null);
            var n = options.Clients;

            Phase.Progress($"stuck: warm-up {options.Warmup.TotalSeconds:F0} s, {options.Repetitions} rounds of 2 × {options.Duration.TotalSeconds:F0} s");
            await ClosedLoop.RunAsync(ops, options.Warmup, cpu, cancellationToken);
            var without = new List<RunSample>();
            var with = new List<RunSample>();
            for (var round = 1; round <= options.Repetitions; round++)
            {
                without.Add(await ClosedLoop.RunAsync(ops, options.Duration, cpu, cancellationToken));
                await using (var stuck = await StuckSubscriber.OpenAsync(mcp, Channel, cancellationToken))
                {
                    await WedgeAsync(mcp, stuck.BusSessionId, cancellationToken);
                    with.Add(await ClosedLoop.RunAsync(ops, options.Duration, cpu, cancellationToken));
                }

                Phase.Progress(
                    $"stuck round {round}/{options.Repetitions} publish x{n}: 1 live {without[^1].OpsPerSecond,8:F0} /s p50 {without[^1].P50Ms:F3} p99 {without[^1].P99Ms:F3} ms" +
                    $" | + 1 stuck {with[^1].OpsPerSecond,8:F0} /s p50 {with[^1].P50Ms:F3} p99 {with[^1].P99Ms:F3} ms");
            }

            // Everything published reaches the live subscriber, stuck neighbour or not.
            var total = Interlocked.Read(ref published);
            var deadline = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
            while (live.Arrivals.Count < total && Stopwatch.GetTimestamp() < deadline && live.Failure is null)
            {
                await Task.Delay(50, cancellationToken);
            }

            return new StuckResult(
                n, total, live.Arrivals.Count, live.Failure,
                Summarize(without), Summarize(with), without.Sum(s => s.Errors) + with.Sum(s => s.Errors), without, with);
        }
        finally
        {
            foreach (var p in publishers)
            {
                await p.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Fills a stuck subscriber's socket, the server's send buffer and its stream queue before the measured phase
    /// (~8 MB of direct messages, each pushed as ~1 KB), so that during the phase it is wedged, not merely new.
    /// </summary>
    private static async Task WedgeAsync(Uri mcp, string busSessionId, CancellationToken cancellationToken)
    {
        using var rest = SingleConnectionClient();
        var text = new string('w', 1000);
        var item = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["event_type"] = "bench_fill",
            ["payload"] = text,
            ["channel"] = "session:" + busSessionId,
        });
        var body = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat(item, 500)) + "]");
        for (var i = 0; i < 16; i++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await rest.PostAsync(new Uri(mcp, "/api/v1/events:batch"), content, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new BenchException($"filling the stuck subscriber: HTTP {(int)response.StatusCode}");
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
    }

    /// <summary>
    /// <see cref="BenchOptions.IdleSessions"/> sessions registered, subscribed and holding their GET streams open: the
    /// server's resident memory before and while they are held, then one event that all of them must receive.
    /// </summary>
    private async Task<IdleResult> IdleAsync(Uri mcp, HttpClient streams, McpSession publisher, CancellationToken cancellationToken)
    {
        var count = options.IdleSessions;
        var channel = "bench:idle";
        var before = ResidentMegabytes(options.ServerPid);
        Phase.Progress($"idle: opening {count} sessions (server resident {before:F0} MB)");
        var opening = Stopwatch.StartNew();
        var listeners = await PushRounds.OpenListenersAsync(mcp, streams, "bench-idle", count, channel, "actionable", cancellationToken);
        try
        {
            var opened = opening.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            var held = ResidentMegabytes(options.ServerPid);
            Phase.Progress($"idle: {count} sessions open in {opened:F1} s; server resident {held:F0} MB");

            var args = JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["event_type"] = "bench",
                ["payload"] = _payload,
                ["channel"] = channel,
                ["signal_level"] = "actionable",
            });
            var t0 = Stopwatch.GetTimestamp();
            var id = (await publisher.CallToolJsonAsync("publish_event", args, cancellationToken)).GetProperty("event_id").GetInt64();
            var reachedAll = true;
            try
            {
                await PushRounds.AllReachedAsync(listeners.Select(l => l.Arrivals), id, () => PushRounds.Failures(listeners), cancellationToken);
            }
            catch (BenchException ex)
            {
                Phase.Progress($"idle: {ex.Message}");
                reachedAll = false;
            }

            var reached = listeners.Count(l => l.Arrivals.TryGet(id, out _));
            var fanOut = PushRounds.Latencies([(id, t0)], listeners.Select(l => l.Arrivals).ToList());
            var after = ResidentMegabytes(options.ServerPid);
            Phase.Progress($"idle: one event reached {reached}/{count} (all: {reachedAll}) p50 {fanOut.P50Ms:F1} ms, max {fanOut.MaxMs:F1} ms; resident {after:F0} MB");
            return new IdleResult(count, opened, before, held, after, reached, fanOut);
        }
        finally
        {
            await Task.WhenAll(listeners.Select(l => l.DisposeAsync().AsTask()));
        }
    }

    /// <summary>
    /// Batch publish through <c>POST /api/v1/events:batch</c> (a JSON array of <see cref="BenchOptions.BatchSize"/>
    /// events, one transaction) ×1 and ×<see cref="BenchOptions.BatchClients"/>, next to, in this process, the store's
    /// batch append and SQLite's own ceiling: the same rows inserted into the same schema with one prepared statement.
    /// </summary>
    private async Task<List<BatchResult>> BatchAsync(Uri mcp, CancellationToken cancellationToken)
    {
        var size = options.BatchSize;
        var url = new Uri(mcp, "/api/v1/events:batch");
        var item = JsonSerializer.Serialize(new Dictionary<string, string> { ["event_type"] = "bench", ["payload"] = _payload, ["channel"] = "all" });
        var body = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat(item, size)) + "]");
        var clients = Enumerable.Range(0, options.BatchClients).Select(_ => SingleConnectionClient()).ToList();
        var owned = new List<IAsyncDisposable>();
        try
        {
            using (var check = new ByteArrayContent(body))
            {
                check.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await clients[0].PostAsync(url, check, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode != HttpStatusCode.Created || JsonDocument.Parse(text).RootElement.GetProperty("events").GetArrayLength() != size)
                {
                    throw new BenchException($"POST {url}: HTTP {(int)response.StatusCode}, expected 201 with {size} events: {text[..Math.Min(300, text.Length)]}");
                }
            }

            Operation Post(HttpClient client) => async ct =>
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync(url, content, ct);
                return response.StatusCode == HttpStatusCode.Created;
            };

            var store = await ScratchStoreAsync("batch-store.db", cancellationToken);
            owned.Add(store);
            var events = Enumerable.Range(0, size)
                .Select(_ => new NewEvent("bench", _payload, "anonymous", DateTimeOffset.UtcNow, "all", null, SignalLevel.Info, null, null))
                .ToList();
            Operation Append() => async ct => (await store.Events.AppendAsync(events, ct)).Count == size;

            var raw = await RawInsert.OpenAsync(ScratchPath("batch-raw.db"), _payload, cancellationToken);
            owned.Add(raw);
            Operation Insert() => ct => ValueTask.FromResult(raw.InsertBatch(size));

            var server = new CpuMeter(options.ServerPid, null);
            var self = new CpuMeter(null, null);
            var phases = new List<Phase>
            {
                new("rest batch x1", $"POST /api/v1/events:batch, {size} events", PhaseGroup.Throughput, [Post(clients[0])], server),
                new($"rest batch x{clients.Count}", $"POST /api/v1/events:batch, {size} events", PhaseGroup.Throughput, [.. clients.Select(Post)], server),
                new("store append x1", $"store.Events.AppendAsync({size}) in-process", PhaseGroup.Diagnostic, [Append()], self),
                new("sqlite insert x1", $"SQLite alone: {size} prepared INSERTs, one transaction", PhaseGroup.Diagnostic, [Insert()], self),
            };
            Phase.Progress($"batch: {phases.Count} phases, warm-up {options.Warmup.TotalSeconds:F0} s, {options.Repetitions} rounds of {options.Duration.TotalSeconds:F0} s");
            await Phase.RunRoundsAsync(phases, options.Warmup, options.Duration, options.Repetitions, cancellationToken);
            return phases.Select(p => new BatchResult(
                p.Key, p.Title, p.Clients, size,
                Report.Median(p.Samples.Select(s => s.OpsPerSecond * size).ToList()),
                Report.Median(p.Samples.Select(s => s.P50Ms).ToList()),
                Report.Median(p.Samples.Select(s => s.P99Ms).ToList()),
                p.Samples.Sum(s => s.Errors),
                p.Samples.Select(s => s.FirstError).FirstOrDefault(e => e is not null),
                p.Samples.Select(s => s.OpsPerSecond * size).ToList())).ToList();
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            foreach (var o in owned)
            {
                await o.DisposeAsync();
            }
        }
    }

    private static RunSummary Summarize(List<RunSample> rounds) => new(
        Report.Median(rounds.Select(r => r.OpsPerSecond).ToList()), Report.Median(rounds.Select(r => r.P50Ms).ToList()),
        Report.Median(rounds.Select(r => r.P99Ms).ToList()), rounds.Max(r => r.MaxMs));

    /// <summary>The server's resident set (VmRSS), in MB; 0 when unknown.</summary>
    private static double ResidentMegabytes(int? pid)
    {
        if (pid is not { } p || !File.Exists($"/proc/{p}/status"))
        {
            return 0;
        }

        var line = File.ReadLines($"/proc/{p}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static HttpClient SingleConnectionClient() => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 1,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private (string Host, int Port) RedisEndpoint()
    {
        var endpoint = options.Redis ?? throw new BenchException("--redis is required.");
        var colon = endpoint.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(endpoint[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var port))
        {
            throw new BenchException($"--redis must be host:port (got \"{endpoint}\").");
        }

        return (endpoint[..colon], port);
    }

    private string ScratchPath(string name)
    {
        var path = Path.Combine(options.Scratch, name);
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        return path;
    }

    private async Task<SqliteStore> ScratchStoreAsync(string name, CancellationToken cancellationToken)
    {
        var store = new SqliteStore(new SqliteStoreOptions { Path = ScratchPath(name) });
        await store.InitializeAsync(cancellationToken);
        return store;
    }

    private static void Print(PushReport report, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"Push latency, publish → notification handler ({report.Latency.FirstOrDefault()?.Events ?? 0} events per round, median of rounds; max over all)");
        output.WriteLine($"{"subscribers",12} | {"EventBus p50",12} {"p99",9} {"max",9} {"reply",9} | {"Redis p50",10} {"p99",9} {"max",9} {"reply",9} | {"p50 ratio",9} {"p99 ratio",9}");
        foreach (var l in report.Latency)
        {
            output.WriteLine(
                $"{l.Subscribers,12} | {l.EventBus.P50Ms,9:F3} ms {l.EventBus.P99Ms,6:F3} ms {l.EventBus.MaxMs,6:F2} ms {l.EventBus.ReplyP50Ms,6:F3} ms | " +
                $"{l.Redis.P50Ms,7:F3} ms {l.Redis.P99Ms,6:F3} ms {l.Redis.MaxMs,6:F2} ms {l.Redis.ReplyP50Ms,6:F3} ms | " +
                $"{l.EventBus.P50Ms / l.Redis.P50Ms,8:F2}x {l.EventBus.P99Ms / l.Redis.P99Ms,8:F2}x");
        }

        output.WriteLine("  (reply: the publisher's own round trip, p50 — for EventBus the durable publish through MCP tools/call)");

        var s = report.Stuck;
        output.WriteLine();
        output.WriteLine($"Publisher next to a stuck subscriber (publish x{s.Publishers}, closed loop, median of rounds)");
        output.WriteLine($"  1 live subscriber          {s.Without.OpsPerSecond,9:F0} /s  p50 {s.Without.P50Ms:F3} ms  p99 {s.Without.P99Ms:F3} ms");
        output.WriteLine($"  + 1 that never reads       {s.With.OpsPerSecond,9:F0} /s  p50 {s.With.P50Ms:F3} ms  p99 {s.With.P99Ms:F3} ms");
        output.WriteLine($"  ratio (with/without)       {s.With.OpsPerSecond / s.Without.OpsPerSecond,9:F2}x     p50 {s.With.P50Ms / s.Without.P50Ms:F2}x      p99 {s.With.P99Ms / s.Without.P99Ms:F2}x");
        output.WriteLine($"  live subscriber received {s.Delivered:N0} of {s.Published:N0} published{(s.LiveFailure is null ? "" : $" ({s.LiveFailure})")}");

        var i = report.Idle;
        output.WriteLine();
        output.WriteLine($"{i.Sessions:N0} idle connected sessions (registered, subscribed, GET stream open)");
        output.WriteLine($"  server resident: {i.ResidentBeforeMb:F0} MB before, {i.ResidentHeldMb:F0} MB held, {i.ResidentAfterMb:F0} MB after one fan-out");
        output.WriteLine($"  one event to all: reached {i.Reached:N0}, p50 {i.FanOut.P50Ms:F1} ms, p99 {i.FanOut.P99Ms:F1} ms, max {i.FanOut.MaxMs:F1} ms");

        output.WriteLine();
        output.WriteLine("Batch publish (events/s, median of rounds)");
        foreach (var b in report.Batch)
        {
            output.WriteLine($"  {b.Key,-18} {b.EventsPerSecond,10:N0} /s  p50 {b.P50Ms,7:F2} ms  p99 {b.P99Ms,7:F2} ms  {b.Title}{(b.Errors == 0 ? "" : $"  ERRORS {b.Errors}: {b.FirstError}")}");
        }

        var ceiling = report.Batch.FirstOrDefault(b => b.Key.StartsWith("sqlite", StringComparison.Ordinal));
        if (ceiling is not null)
        {
            foreach (var b in report.Batch.Where(b => b.Key.StartsWith("rest", StringComparison.Ordinal)))
            {
                output.WriteLine($"  {b.Key} / SQLite alone: {b.EventsPerSecond / ceiling.EventsPerSecond:F2}");
            }
        }
    }

    private async Task<string> WriteAsync(PushReport report, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Out);
        var json = JsonSerializer.Serialize(report, Report.Json);
        var path = Path.Combine(options.Out, $"push-{report.StartedAt:yyyyMMdd-HHmmss}.json");
        await File.WriteAllTextAsync(path, json + "\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(options.Out, "push-latest.json"), json + "\n", cancellationToken);
        return path;
    }

    /// <summary>SQLite's own batched insert rate into the events table, outside the bus: the ceiling for a batch.</summary>
    private sealed class RawInsert : IAsyncDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _insert;
        private readonly long _at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        private RawInsert(SqliteConnection connection, string payload)
        {
            _connection = connection;
            _insert = connection.CreateCommand();
            _insert.CommandText =
                "INSERT INTO events (event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags) " +
                "VALUES ('bench', $payload, 'anonymous', $at, 'all', NULL, 1, NULL, NULL)";
            _insert.Parameters.AddWithValue("$payload", payload);
            _insert.Parameters.AddWithValue("$at", _at);
            _insert.Prepare();
        }

        public static async Task<RawInsert> OpenAsync(string path, string payload, CancellationToken cancellationToken)
        {
            // The store creates the schema (same tables and indexes), then this connection writes on its own.
            await using (var store = new SqliteStore(new SqliteStoreOptions { Path = path }))
            {
                await store.InitializeAsync(cancellationToken);
            }

            var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;";
            pragmas.ExecuteNonQuery();
            return new RawInsert(connection, payload);
        }

        public bool InsertBatch(int rows)
        {
            using var transaction = _connection.BeginTransaction();
            _insert.Transaction = transaction;
            for (var i = 0; i < rows; i++)
            {
                _insert.ExecuteNonQuery();
            }

            transaction.Commit();
            return true;
        }

        public ValueTask DisposeAsync()
        {
            _insert.Dispose();
            _connection.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

internal sealed record PushReport(
    DateTimeOffset StartedAt,
    double TotalSeconds,
    MachineInfo Machine,
    int PayloadBytes,
    List<LatencyResult> Latency,
    StuckResult Stuck,
    IdleResult Idle,
    List<BatchResult> Batch);

/// <summary>
/// One round's latency over every (subscriber, event) pair; and the median time the publisher waited for its own
/// reply (the publish round trip: the floor under the push latency).
/// </summary>
internal sealed record LatencySample(int Samples, double P50Ms, double P99Ms, double MaxMs, double ReplyP50Ms = 0);

/// <summary>Medians of the rounds' p50, p99 and publish reply p50; the max over all rounds.</summary>
internal sealed record LatencySummary(double P50Ms, double P99Ms, double MaxMs, double ReplyP50Ms);

internal sealed record LatencyResult(
    int Subscribers, int Events, LatencySummary EventBus, LatencySummary Redis, List<LatencySample> EventBusRounds, List<LatencySample> RedisRounds);

internal sealed record RunSummary(double OpsPerSecond, double P50Ms, double P99Ms, double MaxMs);

internal sealed record StuckResult(
    int Publishers, long Published, long Delivered, string? LiveFailure, RunSummary Without, RunSummary With, int Errors,
    List<RunSample> WithoutRounds, List<RunSample> WithRounds);

internal sealed record IdleResult(
    int Sessions, double OpenSeconds, double ResidentBeforeMb, double ResidentHeldMb, double ResidentAfterMb, int Reached, LatencySample FanOut);

internal sealed record BatchResult(
    string Key, string Title, int Clients, int BatchSize, double EventsPerSecond, double P50Ms, double P99Ms, int Errors, string? FirstError,
    List<double> Rounds);
