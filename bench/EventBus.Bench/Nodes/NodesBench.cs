using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using EventBus.Bench.Clients;
using EventBus.Bench.Load;
using EventBus.Bench.Push;
using Npgsql;

namespace EventBus.Bench.Nodes;

/// <summary>
/// <c>EventBus.Bench nodes</c>: the PostgreSQL store and several nodes, in one run.
/// <list type="bullet">
/// <item>Durable publish ×<see cref="BenchOptions.Clients"/> through MCP on a PostgreSQL-backed node (with node B
/// following, and alone while node B is paused when <c>--server-pid-b</c> is given), next to the same on a SQLite
/// server and next to PostgreSQL's own ceiling (the same number of clients, each on its own connection, doing a
/// prepared single-row <c>INSERT</c> that commits), in interleaved rounds.</item>
/// <item>Publish → push latency with one subscriber, the publisher on node A and the subscriber on node A (same node)
/// or node B (cross node: woken through LISTEN/NOTIFY), in interleaved rounds.</item>
/// </list>
/// </summary>
internal sealed class NodesBench(BenchOptions options)
{
    private const string RawTable = "bench_raw_events";
    private readonly string _payload = options.Payload();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var watch = Stopwatch.StartNew();
        var machine = MachineInfo.Collect();
        var nodeA = options.Mcp ?? throw new BenchException("--mcp (node A, PostgreSQL) is required.");
        var nodeB = options.McpB ?? throw new BenchException("--mcp-b (node B, the same PostgreSQL database) is required.");
        var sqlite = options.SqliteMcp ?? throw new BenchException("--sqlite-mcp (a server on a SQLite file) is required.");
        var postgres = options.Postgres ?? throw new BenchException("--postgres (an Npgsql connection string for the raw inserts) is required.");
        Phase.Progress($"nodes: {machine.Cores} cores, {machine.Runtime}, load average {machine.LoadAverageAtStart}");

        var throughput = await ThroughputAsync(nodeA, sqlite, postgres, cancellationToken);
        var push = await PushAsync(nodeA, nodeB, cancellationToken);

        var report = new NodesReport(started, watch.Elapsed.TotalSeconds, machine, options.Clients, options.PayloadBytes, throughput, push);
        Print(report, Console.Out);
        Directory.CreateDirectory(options.Out);
        var json = JsonSerializer.Serialize(report, Report.Json);
        var path = Path.Combine(options.Out, $"nodes-{started:yyyyMMdd-HHmmss}.json");
        await File.WriteAllTextAsync(path, json + "\n", cancellationToken);
        Console.WriteLine();
        Console.WriteLine($"JSON: {path}");
        return throughput.All(t => t.Rounds.All(r => r.Errors == 0)) ? 0 : 1;
    }

    /// <summary>The three publish sides, each warmed up, then measured in interleaved rounds (medians reported).</summary>
    private async Task<List<SideResult>> ThroughputAsync(Uri nodeA, Uri sqlite, string postgres, CancellationToken cancellationToken)
    {
        var args = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["event_type"] = "bench",
            ["payload"] = _payload,
            ["channel"] = "bench:nodes",
        });
        var eventId = "\"event_id\":"u8.ToArray();
        var sessions = new List<McpSession>();
        var connections = new List<NpgsqlConnection>();
        try
        {
            async Task<IReadOnlyList<Operation>> McpSide(Uri mcp, string name)
            {
                var ops = new List<Operation>();
                for (var i = 0; i < options.Clients; i++)
                {
                    var session = await McpSession.OpenAsync(mcp, $"{name}-{i}", cancellationToken);
                    sessions.Add(session);
                    ops.Add(ct => session.CallToolAsync("publish_event", args, eventId, ct));
                }

                return ops;
            }

            var nodeAOps = await McpSide(nodeA, "bench-nodes-postgres");
            var sides = new List<(string Key, string Title, IReadOnlyList<Operation> Ops, bool PauseB)>
            {
                ("sqlite", "publish_event through MCP, SQLite server", await McpSide(sqlite, "bench-nodes-sqlite"), false),
                ("postgres", "publish_event through MCP, PostgreSQL node A, node B following", nodeAOps, false),
            };
            if (options.ServerPidB is not null)
            {
                sides.Add(("postgres-1", "publish_event through MCP, PostgreSQL node A alone (node B paused)", nodeAOps, true));
            }

            sides.Add(("raw", "Npgsql single-row INSERT (autocommit), same PostgreSQL", await RawSideAsync(postgres, connections, cancellationToken), false));

            var cpu = new CpuMeter(null, null);
            var rounds = sides.ToDictionary(s => s.Key, _ => new List<RunSample>());
            foreach (var side in sides)
            {
                Phase.Progress($"nodes: warm-up {side.Key} x{options.Clients} {options.Warmup.TotalSeconds:F0} s");
                await RunSideAsync(side.Ops, side.PauseB, options.Warmup, cpu, cancellationToken);
            }

            for (var round = 1; round <= options.Repetitions; round++)
            {
                foreach (var side in sides)
                {
                    var sample = await RunSideAsync(side.Ops, side.PauseB, options.Duration, cpu, cancellationToken);
                    rounds[side.Key].Add(sample);
                    Phase.Progress($"nodes round {round}/{options.Repetitions} {side.Key,-8} {sample.OpsPerSecond,9:N0} /s  p50 {sample.P50Ms,6:F3}  p99 {sample.P99Ms,7:F3} ms{(sample.Errors == 0 ? "" : $"  ERRORS {sample.Errors}: {sample.FirstError}")}");
                }
            }

            return sides.Select(s => new SideResult(
                s.Key, s.Title,
                Report.Median(rounds[s.Key].Select(r => r.OpsPerSecond).ToList()),
                Report.Median(rounds[s.Key].Select(r => r.P50Ms).ToList()),
                Report.Median(rounds[s.Key].Select(r => r.P99Ms).ToList()),
                rounds[s.Key])).ToList();
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }

            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Runs one side's closed loop. With <paramref name="pauseB"/>, node B is stopped (SIGSTOP) meanwhile — node A alone
    /// on the database, as a single PostgreSQL-backed node runs — and continued after, with a second to catch up before
    /// the next side so its catch-up read does not land in another side's round.
    /// </summary>
    private async Task<RunSample> RunSideAsync(
        IReadOnlyList<Operation> ops, bool pauseB, TimeSpan duration, CpuMeter cpu, CancellationToken cancellationToken)
    {
        if (pauseB)
        {
            Signal(options.ServerPidB!.Value, SigStop);
        }

        try
        {
            return await ClosedLoop.RunAsync(ops, duration, cpu, cancellationToken);
        }
        finally
        {
            if (pauseB)
            {
                Signal(options.ServerPidB!.Value, SigCont);
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
        }
    }

    private const int SigCont = 18;
    private const int SigStop = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);

    private static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new BenchException($"could not signal node B (pid {pid}, signal {signal}): errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// PostgreSQL's own ceiling: a table shaped like the event (type, channel, payload, time), one connection per client,
    /// one prepared single-row INSERT per operation, each its own committed transaction.
    /// </summary>
    private async Task<IReadOnlyList<Operation>> RawSideAsync(string postgres, List<NpgsqlConnection> connections, CancellationToken cancellationToken)
    {
        await using (var setup = new NpgsqlConnection(postgres))
        {
            await setup.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand(
                $"DROP TABLE IF EXISTS {RawTable}; CREATE TABLE {RawTable} (id bigserial PRIMARY KEY, event_type text NOT NULL, " +
                "channel text NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())", setup);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var ops = new List<Operation>();
        for (var i = 0; i < options.Clients; i++)
        {
            var connection = new NpgsqlConnection(postgres);
            connections.Add(connection);
            await connection.OpenAsync(cancellationToken);
            var insert = new NpgsqlCommand($"INSERT INTO {RawTable} (event_type, channel, payload) VALUES ($1, $2, $3)", connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = "bench" });
            insert.Parameters.Add(new NpgsqlParameter { Value = "bench:nodes" });
            insert.Parameters.Add(new NpgsqlParameter { Value = _payload });
            await insert.PrepareAsync(cancellationToken);
            ops.Add(async ct => await insert.ExecuteNonQueryAsync(ct) == 1);
        }

        return ops;
    }

    /// <summary>One subscriber on the publisher's node, then on the other node, alternating, <see cref="BenchOptions.PushRepetitions"/> times.</summary>
    private async Task<PushResult> PushAsync(Uri nodeA, Uri nodeB, CancellationToken cancellationToken)
    {
        using var streams = PushRounds.StreamClient();
        await using var publisher = await McpSession.OpenAsync(nodeA, "bench-nodes-publisher", cancellationToken);
        var same = new List<LatencySample>();
        var cross = new List<LatencySample>();
        for (var round = 1; round <= options.PushRepetitions; round++)
        {
            same.Add(await PushRounds.EventBusLatencyAsync(
                publisher, nodeA, streams, 1, options.PushEvents, options.PushWarmupEvents, _payload, cancellationToken));
            cross.Add(await PushRounds.EventBusLatencyAsync(
                publisher, nodeB, streams, 1, options.PushEvents, options.PushWarmupEvents, _payload, cancellationToken));
            Phase.Progress(
                $"nodes push round {round}/{options.PushRepetitions}  same node p50 {same[^1].P50Ms,6:F3} p99 {same[^1].P99Ms,7:F3} max {same[^1].MaxMs,7:F3} ms" +
                $"   cross node p50 {cross[^1].P50Ms,6:F3} p99 {cross[^1].P99Ms,7:F3} max {cross[^1].MaxMs,7:F3} ms");
        }

        return new PushResult(options.PushEvents, PushRounds.Summarize(same), PushRounds.Summarize(cross), same, cross);
    }

    private static void Print(NodesReport report, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"Nodes: PostgreSQL store ({report.Machine.Cores} cores, {report.Machine.CpuModel}, load at start {report.Machine.LoadAverageAtStart})");
        output.WriteLine($"Publish x{report.Clients}, closed loop, {report.PayloadBytes} B payload, median of {report.Throughput[0].Rounds.Count} interleaved rounds");
        foreach (var side in report.Throughput)
        {
            output.WriteLine($"  {side.Key,-9} {side.OpsPerSecond,9:N0} /s  p50 {side.P50Ms,6:F3} ms  p99 {side.P99Ms,7:F3} ms  {side.Title}");
        }

        var postgres = report.Throughput.Single(t => t.Key == "postgres");
        var raw = report.Throughput.Single(t => t.Key == "raw");
        var sqlite = report.Throughput.Single(t => t.Key == "sqlite");
        output.WriteLine($"  postgres / raw PostgreSQL insert: {postgres.OpsPerSecond / raw.OpsPerSecond:F2}   (goal >= 0.70; node B following)");
        if (report.Throughput.SingleOrDefault(t => t.Key == "postgres-1") is { } alone)
        {
            output.WriteLine($"  postgres-1 / raw insert:          {alone.OpsPerSecond / raw.OpsPerSecond:F2}   (goal >= 0.70; node A alone)");
        }

        output.WriteLine($"  postgres / sqlite:                {postgres.OpsPerSecond / sqlite.OpsPerSecond:F2}");

        var push = report.Push;
        output.WriteLine($"Publish -> push, 1 subscriber, {push.Events} events per round, median of {push.SameRounds.Count} rounds");
        output.WriteLine($"  same node   p50 {push.Same.P50Ms,6:F3} ms  p99 {push.Same.P99Ms,7:F3} ms  max {push.Same.MaxMs,7:F3} ms  (publish reply p50 {push.Same.ReplyP50Ms:F3} ms)");
        output.WriteLine($"  cross node  p50 {push.Cross.P50Ms,6:F3} ms  p99 {push.Cross.P99Ms,7:F3} ms  max {push.Cross.MaxMs,7:F3} ms  (publish reply p50 {push.Cross.ReplyP50Ms:F3} ms)");
        output.WriteLine($"  cross / same p99: {push.Cross.P99Ms / push.Same.P99Ms:F2}   (goals: cross p99 <= 10 ms, <= 3x same node)");
    }
}

internal sealed record NodesReport(
    DateTimeOffset StartedAt, double TotalSeconds, MachineInfo Machine, int Clients, int PayloadBytes, List<SideResult> Throughput, PushResult Push);

/// <summary>One publish side: medians over the rounds, and every round.</summary>
internal sealed record SideResult(string Key, string Title, double OpsPerSecond, double P50Ms, double P99Ms, List<RunSample> Rounds);

internal sealed record PushResult(int Events, LatencySummary Same, LatencySummary Cross, List<LatencySample> SameRounds, List<LatencySample> CrossRounds);
