using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventBus.Bench.Clients;
using EventBus.Bench.Load;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Sqlite;

namespace EventBus.Bench;

/// <summary>
/// <c>EventBus.Bench run</c>: sets up the clients against servers the script started, runs every phase in
/// interleaved rounds, prints the table and writes the JSON report.
/// </summary>
internal sealed class BenchRunner(BenchOptions options)
{
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var watch = Stopwatch.StartNew();
        var machine = MachineInfo.Collect();
        var payload = options.Payload();
        var mcp = options.Mcp ?? throw new BenchException("--mcp is required.");
        Phase.Progress($"{machine.Cores} cores, {machine.Runtime}, load average {machine.LoadAverageAtStart}");

        try
        {
            var eventBus = await HealthAsync(mcp, cancellationToken);
            var writePhases = await WritePhasesAsync(mcp, payload, cancellationToken);
            var (redis, redisPhases) = options.Redis is { } redisEndpoint
                ? await RedisPhasesAsync(redisEndpoint, payload, cancellationToken)
                : (null, []);
            var diagnostics = options.Diagnostics ? await WriteDiagnosticsAsync(mcp, payload, cancellationToken) : [];

            // Order within a round: the MCP ceiling, publish, Redis, then the diagnostics.
            var throughput = writePhases.Concat(redisPhases).Concat(diagnostics).Where(p => options.Selected(p.Key)).ToList();
            Phase.Progress(
                $"throughput: {throughput.Count} phases, warm-up {options.Warmup.TotalSeconds:F0} s, " +
                $"{options.Repetitions} rounds of {options.Duration.TotalSeconds:F0} s each");
            await Phase.RunRoundsAsync(throughput, options.Warmup, options.Duration, options.Repetitions, cancellationToken);

            var reads = new List<Phase>();
            EventBusInfo? readServer = null;
            SeedResult? seed = null;
            if (options.ReadMcp is { } readMcp && (options.Only.Count == 0 || options.Only.Any(o => o.StartsWith("get_events", StringComparison.Ordinal) || o.StartsWith("store read", StringComparison.Ordinal))))
            {
                readServer = await HealthAsync(readMcp, cancellationToken);
                seed = options.SeedInfo is { } seedFile && File.Exists(seedFile)
                    ? JsonSerializer.Deserialize<SeedResult>(await File.ReadAllTextAsync(seedFile, cancellationToken), Report.Json)
                    : null;
                reads.AddRange((await ReadPhasesAsync(readMcp, cancellationToken)).Where(p => options.Selected(p.Key)));
                Phase.Progress(
                    $"get_events on {readServer.LastEventId:N0} events: {reads.Count} phases, warm-up {options.Warmup.TotalSeconds:F0} s, " +
                    $"{options.Repetitions} rounds of {options.ReadDuration.TotalSeconds:F0} s each");
                await Phase.RunRoundsAsync(reads, options.Warmup, options.ReadDuration, options.Repetitions, cancellationToken);
            }

            var report = Report.Build(
                started, watch.Elapsed, machine, options, eventBus, readServer, redis, seed, [.. throughput, .. reads]);
            Report.Print(report, Console.Out);
            var path = await Report.WriteAsync(report, options.Out, cancellationToken);
            Console.WriteLine();
            Console.WriteLine($"JSON: {path}");
            return report.Phases.Sum(p => p.Errors) == 0 ? 0 : 1;
        }
        finally
        {
            for (var i = _owned.Count - 1; i >= 0; i--)
            {
                await _owned[i].DisposeAsync();
            }
        }
    }

    /// <summary>ping ×1, ping ×N, publish ×1, publish ×N on the write server, each client its own session.</summary>
    private async Task<List<Phase>> WritePhasesAsync(Uri mcp, string payload, CancellationToken cancellationToken)
    {
        var sessions = await OpenSessionsAsync(mcp, "bench-writer", options.Clients, cancellationToken);
        var publishArgs = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["event_type"] = "bench",
            ["payload"] = payload,
            ["channel"] = "all",
        });

        // Check both operations once, fully parsed, before timing them with cheap checks.
        await sessions[0].RequestJsonAsync("ping", null, cancellationToken);
        var published = await sessions[0].CallToolJsonAsync("publish_event", publishArgs, cancellationToken);
        if (!published.TryGetProperty("event_id", out var id) || id.GetInt64() <= 0)
        {
            throw new BenchException($"publish_event returned no event_id: {published}");
        }

        var cpu = new CpuMeter(options.ServerPid, null);
        var eventId = "\"event_id\":"u8.ToArray();
        Operation Ping(McpSession s) => s.PingAsync;
        Operation Publish(McpSession s) => ct => s.CallToolAsync("publish_event", publishArgs, eventId, ct);
        var n = options.Clients;
        return
        [
            new Phase("ping x1", "MCP ping (ceiling)", PhaseGroup.Throughput, [Ping(sessions[0])], cpu),
            new Phase($"ping x{n}", "MCP ping (ceiling)", PhaseGroup.Throughput, [.. sessions.Select(Ping)], cpu),
            new Phase("publish x1", "MCP tools/call publish_event", PhaseGroup.Throughput, [Publish(sessions[0])], cpu),
            new Phase($"publish x{n}", "MCP tools/call publish_event", PhaseGroup.Throughput, [.. sessions.Select(Publish)], cpu),
        ];
    }

    /// <summary>XADD ×1 and ×N, one TCP connection per client, same payload.</summary>
    private async Task<(RedisInfo Info, List<Phase> Phases)> RedisPhasesAsync(
        string endpoint, string payload, CancellationToken cancellationToken)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(endpoint[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var port))
        {
            throw new BenchException($"--redis must be host:port (got \"{endpoint}\").");
        }

        var host = endpoint[..colon];
        var connections = new List<RespConnection>();
        for (var i = 0; i < options.Clients; i++)
        {
            var connection = await RespConnection.ConnectAsync(host, port, cancellationToken);
            _owned.Add(connection);
            connections.Add(connection);
        }

        var first = connections[0];
        if (await first.ExecuteAsync(RespConnection.Encode("PING"), cancellationToken) is not "PONG")
        {
            throw new BenchException("Redis did not answer PING with PONG.");
        }

        var config = await first.ExecuteAsync(RespConnection.Encode("CONFIG", "GET", "append*"), cancellationToken) as List<object?> ?? [];
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < config.Count; i += 2)
        {
            settings[config[i]?.ToString() ?? ""] = config[i + 1]?.ToString() ?? "";
        }

        var infoText = await first.ExecuteAsync(RespConnection.Encode("INFO", "server"), cancellationToken) as string ?? "";
        var version = infoText.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("redis_version:", StringComparison.Ordinal))?[14..] ?? "?";
        var xadd = RespConnection.Encode("XADD", "bench", "*", "payload", payload);
        if (await first.ExecuteAsync(xadd, cancellationToken) is not string entryId || !entryId.Contains('-', StringComparison.Ordinal))
        {
            throw new BenchException("Redis XADD did not return an entry id.");
        }

        var info = new RedisInfo(
            version, endpoint, settings.GetValueOrDefault("appendonly", "?"), settings.GetValueOrDefault("appendfsync", "?"));
        Phase.Progress($"Redis {info.Version} at {endpoint}: appendonly {info.AppendOnly}, appendfsync {info.AppendFsync}");

        var cpu = new CpuMeter(null, options.RedisPid);
        Operation Add(RespConnection c) => ct => c.ExecuteExpectBulkAsync(xadd, ct);
        var n = options.Clients;
        return (info,
        [
            new Phase("xadd x1", "Redis XADD (appendfsync everysec)", PhaseGroup.Throughput, [Add(connections[0])], cpu),
            new Phase($"xadd x{n}", "Redis XADD (appendfsync everysec)", PhaseGroup.Throughput, [.. connections.Select(Add)], cpu),
        ]);
    }

    /// <summary>
    /// Splitting the publish cost: the store's publish alone (in this process, SQLite group commit, no HTTP or MCP),
    /// and a tools/call that writes nothing (list_channels) on the write server.
    /// </summary>
    private async Task<List<Phase>> WriteDiagnosticsAsync(Uri mcp, string payload, CancellationToken cancellationToken)
    {
        var path = Path.Combine(options.Scratch, "store-diagnostic.db");
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        var store = new SqliteStore(new SqliteStoreOptions { Path = path });
        _owned.Add(store);
        await store.InitializeAsync(cancellationToken);
        Operation StorePublish() => async ct =>
        {
            var e = new NewEvent("bench", payload, "anonymous", DateTimeOffset.UtcNow, "all", null, SignalLevel.Info, null, null);
            var outcome = await store.Events.PublishAsync(e, null, ct);
            return outcome.Event.Id > 0;
        };

        var sessions = await OpenSessionsAsync(mcp, "bench-diagnostic", options.Clients, cancellationToken);
        await sessions[0].CallToolJsonAsync("list_channels", "{}", cancellationToken);
        var listResult = "\"result\":"u8.ToArray();
        Operation ListChannels(McpSession s) => ct => s.CallToolAsync("list_channels", "{}", listResult, ct);

        var n = options.Clients;
        var self = new CpuMeter(null, null);
        return
        [
            new Phase("store publish x1", "store.Events.PublishAsync in-process (no HTTP/MCP)", PhaseGroup.Diagnostic, [StorePublish()], self),
            new Phase($"store publish x{n}", "store.Events.PublishAsync in-process (no HTTP/MCP)", PhaseGroup.Diagnostic,
                [.. Enumerable.Range(0, n).Select(_ => StorePublish())], self),
            new Phase($"list_channels x{n}", "MCP tools/call list_channels (no write)", PhaseGroup.Diagnostic,
                [.. sessions.Select(ListChannels)], new CpuMeter(options.ServerPid, null)),
        ];
    }

    /// <summary>
    /// get_events with 1 client on the server started on the seeded database: a cursor read near the tip (what a
    /// resume returns when a little is new), the newest-50 window, and a session's resume poll (which saves its cursor,
    /// a write). Plus, as a diagnostic, the store's cursor read alone in this process.
    /// </summary>
    private async Task<List<Phase>> ReadPhasesAsync(Uri readMcp, CancellationToken cancellationToken)
    {
        // Two MCP sessions: register_session binds its connection (later calls default session_id to it, which makes a
        // session-less get_events a consuming read), so the anonymous cursor and newest reads use one that never registered.
        var sessions = await OpenSessionsAsync(readMcp, "bench-reader", 2, cancellationToken);
        var session = sessions[0];
        var registeredSession = sessions[1];
        var registered = await registeredSession.CallToolJsonAsync(
            "register_session",
            $$"""{"name":"bench-reader","machine":"bench","cwd":"/bench","client_id":"bench-{{Guid.NewGuid():N}}"}""",
            cancellationToken);
        var sessionId = registered.GetProperty("session_id").GetString()!;

        var newest = await session.CallToolJsonAsync("get_events", """{"limit":50}""", cancellationToken);
        var tip = long.Parse(newest.GetProperty("next_cursor").GetString()!, CultureInfo.InvariantCulture);
        if (newest.GetProperty("events").GetArrayLength() != 50 || !newest.GetProperty("has_more").GetBoolean())
        {
            throw new BenchException($"get_events newest-50 on the seeded database returned an unexpected page: has_more {newest.GetProperty("has_more")}, {newest.GetProperty("events").GetArrayLength()} events.");
        }

        var check = await session.CallToolJsonAsync(
            "get_events", $$"""{"cursor":"{{tip - 10}}","limit":50,"order":"asc"}""", cancellationToken);
        if (check.GetProperty("events").GetArrayLength() != 10)
        {
            throw new BenchException($"get_events from cursor tip-10 returned {check.GetProperty("events").GetArrayLength()} events, expected 10.");
        }

        await registeredSession.CallToolJsonAsync("get_events", $$"""{"session_id":"{{sessionId}}","resume":true,"limit":50}""", cancellationToken);

        var nextCursor = "\"next_cursor\""u8.ToArray();
        var k = 0;
        Operation CursorRead() => ct =>
        {
            // Cursors 1..50 behind the tip, in turn: pages of 1 to 50 events, 25.5 on average.
            var cursor = tip - 1 - (k++ % 50);
            return session.CallToolAsync(
                "get_events", $$"""{"cursor":"{{cursor}}","limit":50,"order":"asc"}""", nextCursor, ct);
        };
        Operation NewestRead() => ct => session.CallToolAsync("get_events", """{"limit":50}""", nextCursor, ct);
        var resumeArgs = $$"""{"session_id":"{{sessionId}}","resume":true,"limit":50}""";
        Operation ResumePoll() => ct => registeredSession.CallToolAsync("get_events", resumeArgs, nextCursor, ct);

        var cpu = new CpuMeter(options.ReadServerPid, null);
        var phases = new List<Phase>
        {
            new("get_events cursor", "get_events cursor tip-1..50, limit 50", PhaseGroup.Read, [CursorRead()], cpu),
            new("get_events newest-50", "get_events newest 50 (no cursor)", PhaseGroup.Read, [NewestRead()], cpu),
            new("get_events resume", "get_events session resume poll (saves cursor)", PhaseGroup.Read, [ResumePoll()], cpu),
        };

        if (options.Diagnostics && options.ReadDb is { } db)
        {
            // The same database, opened by this process too (WAL lets readers share it with the server).
            var store = new SqliteStore(new SqliteStoreOptions { Path = db });
            _owned.Add(store);
            await store.InitializeAsync(cancellationToken);
            var j = 0;
            Operation StoreRead() => async ct =>
            {
                var page = await store.Events.ReadEventsAsync(new EventQuery(tip - 1 - (j++ % 50), 50), ct);
                return page.Events.Count > 0;
            };
            phases.Add(new Phase(
                "store read cursor", "store.Events.ReadEventsAsync in-process, cursor tip-1..50", PhaseGroup.Diagnostic,
                [StoreRead()], new CpuMeter(null, null)));
        }

        return phases;
    }

    private async Task<List<McpSession>> OpenSessionsAsync(Uri mcp, string name, int count, CancellationToken cancellationToken)
    {
        var sessions = new List<McpSession>(count);
        for (var i = 0; i < count; i++)
        {
            var session = await McpSession.OpenAsync(mcp, $"{name}-{i}", cancellationToken);
            _owned.Add(session);
            sessions.Add(session);
        }

        return sessions;
    }

    private static async Task<EventBusInfo> HealthAsync(Uri mcp, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var url = new Uri(mcp, "/health");
        using var document = JsonDocument.Parse(await http.GetStringAsync(url, cancellationToken));
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "ok")
        {
            throw new BenchException($"{url} is not ok: {root}");
        }

        var store = root.GetProperty("store");
        return new EventBusInfo(
            root.GetProperty("version").GetString() ?? "?", mcp.ToString(), store.GetProperty("path").GetString() ?? "?",
            store.GetProperty("last_event_id").GetInt64());
    }
}

/// <summary>An EventBus server as its /health described it before the phases.</summary>
internal sealed record EventBusInfo(string Version, string Url, string Database, long LastEventId);

/// <summary>The Redis peer.</summary>
internal sealed record RedisInfo(string Version, string Endpoint, string AppendOnly, string AppendFsync);
