using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventBus.Bench.Load;

namespace EventBus.Bench;

/// <summary>The run's results: the printed table and the JSON file under bench/results/.</summary>
internal static class Report
{
    /// <summary>The issue's goals. Reported as met or not; a benchmark measures, it does not fail on a time.</summary>
    public const double PublishToPingGoal = 0.80;
    public const double ReadP99GoalMs = 2.0;

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static BenchReport Build(
        DateTimeOffset started,
        TimeSpan elapsed,
        MachineInfo machine,
        BenchOptions options,
        EventBusInfo eventBus,
        EventBusInfo? readServer,
        RedisInfo? redis,
        SeedResult? seed,
        IReadOnlyList<Phase> phases)
    {
        var summaries = phases.Select(Summarize).ToList();
        var n = options.Clients;
        PhaseSummary? Find(string key) => summaries.FirstOrDefault(s => s.Key == key);
        List<RunSample>? Samples(string key) => phases.FirstOrDefault(p => p.Key == key)?.Samples;

        var ratios = new List<Ratio>();
        void AddRatio(string name, string numerator, string denominator)
        {
            if (Find(numerator) is { } a && Find(denominator) is { } b && b.OpsPerSecond > 0)
            {
                var perRound = Samples(numerator)!.Zip(Samples(denominator)!, (x, y) => y.OpsPerSecond > 0 ? x.OpsPerSecond / y.OpsPerSecond : 0).ToList();
                ratios.Add(new Ratio(name, numerator, denominator, a.OpsPerSecond / b.OpsPerSecond,
                    Median(perRound), perRound.Min(), perRound.Max()));
            }
        }

        AddRatio($"publish x{n} / ping x{n}", $"publish x{n}", $"ping x{n}");
        AddRatio($"publish x{n} / xadd x{n}", $"publish x{n}", $"xadd x{n}");
        AddRatio("publish x1 / ping x1", "publish x1", "ping x1");
        AddRatio("publish x1 / xadd x1", "publish x1", "xadd x1");
        AddRatio($"ping x{n} / xadd x{n}", $"ping x{n}", $"xadd x{n}");

        var goals = new List<Goal>();
        if (ratios.FirstOrDefault(r => r.Name == $"publish x{n} / ping x{n}") is { } ceiling)
        {
            goals.Add(new Goal(
                $"publish x{n} >= {PublishToPingGoal:P0} of ping x{n}", $">= {PublishToPingGoal:F2}",
                ceiling.OfMedians.ToString("F2", CultureInfo.InvariantCulture), ceiling.OfMedians >= PublishToPingGoal));
        }

        foreach (var key in new[] { "get_events cursor", "get_events newest-50", "get_events resume" })
        {
            if (Find(key) is { } read)
            {
                goals.Add(new Goal(
                    $"{key} p99 < {ReadP99GoalMs:F0} ms ({readServer?.LastEventId:N0} events)", $"< {ReadP99GoalMs:F1} ms",
                    read.P99Ms.ToString("F3", CultureInfo.InvariantCulture) + " ms", read.P99Ms < ReadP99GoalMs));
            }
        }

        var settings = new Settings(
            options.Clients, options.PayloadBytes, options.Warmup.TotalSeconds, options.Duration.TotalSeconds,
            options.ReadDuration.TotalSeconds, options.Repetitions);
        return new BenchReport(
            started, Math.Round(elapsed.TotalSeconds, 1), machine, MachineInfo.LoadAverage(), settings, eventBus, readServer, redis,
            seed, summaries, ratios, goals);
    }

    public static void Print(BenchReport report, TextWriter o)
    {
        var m = report.Machine;
        var s = report.Settings;
        o.WriteLine();
        o.WriteLine($"EventBus bench, {report.StartedAt:yyyy-MM-dd HH:mm} UTC: {m.Cores} cores ({m.CpuModel}), {m.MemoryGib} GiB, {m.Os}, {m.Runtime}");
        o.WriteLine($"load average at start {m.LoadAverageAtStart}, at end {report.LoadAverageAtEnd}; run took {report.TotalSeconds:F0} s");
        o.WriteLine(
            $"closed loop, one session and connection per client; payload {s.PayloadBytes} bytes; per phase: warm-up {s.WarmupSeconds:F0} s, " +
            $"then median of {s.Repetitions} interleaved repetitions of {s.DurationSeconds:F0} s ({s.ReadDurationSeconds:F0} s for reads)");
        o.WriteLine($"EventBus {report.EventBus.Version} at {report.EventBus.Url}" + (report.Redis is { } redis
            ? $"; Redis {redis.Version} (appendonly {redis.AppendOnly}, appendfsync {redis.AppendFsync})"
            : "; no Redis"));
        if (report.Seed is { } seed)
        {
            o.WriteLine($"read server: {report.ReadServer?.LastEventId:N0} events, seeded in {seed.Seconds:F1} s ({seed.Bytes / 1024.0 / 1024.0:F0} MiB)");
        }

        foreach (var group in new[] { PhaseGroup.Throughput, PhaseGroup.Read, PhaseGroup.Diagnostic })
        {
            var rows = report.Phases.Where(p => p.Group == group).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            o.WriteLine();
            o.WriteLine(group switch
            {
                PhaseGroup.Throughput => "Throughput",
                PhaseGroup.Read => "get_events latency (1 client)",
                _ => "Diagnostics (where the time goes)",
            });
            o.WriteLine(
                $"  {"phase",-22} {"what",-48} {"ops/s",9} {"p50 ms",8} {"p99 ms",8} {"p99.9",8} {"errors",6}  " +
                $"{"srv us/op",9} {"bench us/op",11} {"other cores",11}  {"ops/s range",15}");
            foreach (var p in rows)
            {
                var serverUs = p.RedisUsPerOp > 0 ? p.RedisUsPerOp : p.ServerUsPerOp;
                o.WriteLine(
                    $"  {p.Key,-22} {p.Title,-48} {p.OpsPerSecond,9:F0} {p.P50Ms,8:F3} {p.P99Ms,8:F3} {p.P999Ms,8:F3} {p.Errors,6}  " +
                    $"{(serverUs > 0 ? serverUs.ToString("F1", CultureInfo.InvariantCulture) : "-"),9} {p.BenchUsPerOp,11:F1} {p.OtherCores,11:F2}  " +
                    $"{p.MinOpsPerSecond,7:F0}..{p.MaxOpsPerSecond,-7:F0}");
                if (p.FirstError is { } error)
                {
                    o.WriteLine($"      first error: {error}");
                }
            }
        }

        o.WriteLine();
        o.WriteLine("Ratios (of the medians; per-round median and range in brackets)");
        foreach (var r in report.Ratios)
        {
            o.WriteLine($"  {r.Name,-26} {r.OfMedians,6:F2}   [{r.PerRoundMedian:F2}; {r.PerRoundMin:F2}..{r.PerRoundMax:F2}]");
        }

        o.WriteLine();
        o.WriteLine("Goals (reported, not enforced)");
        foreach (var g in report.Goals)
        {
            o.WriteLine($"  {g.Name,-58} goal {g.Target,-9} got {g.Measured,-10} {(g.Met ? "met" : "NOT met")}");
        }
    }

    public static async Task<string> WriteAsync(BenchReport report, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var json = JsonSerializer.Serialize(report, Json);
        var path = Path.Combine(directory, $"bench-{report.StartedAt:yyyyMMdd-HHmmss}.json");
        await File.WriteAllTextAsync(path, json + "\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "latest.json"), json + "\n", cancellationToken);
        return path;
    }

    private static PhaseSummary Summarize(Phase phase)
    {
        var samples = phase.Samples;
        double Med(Func<RunSample, double> f) => Median(samples.Select(f).ToList());
        return new PhaseSummary(
            phase.Key,
            phase.Title,
            phase.Group,
            phase.Clients,
            samples.Count,
            Med(x => x.OpsPerSecond),
            Med(x => x.P50Ms),
            Med(x => x.P99Ms),
            Med(x => x.P999Ms),
            samples.Count == 0 ? 0 : samples.Max(x => x.MaxMs),
            samples.Count == 0 ? 0 : samples.Min(x => x.OpsPerSecond),
            samples.Count == 0 ? 0 : samples.Max(x => x.OpsPerSecond),
            samples.Sum(x => x.Errors),
            samples.Select(x => x.FirstError).FirstOrDefault(e => e is not null),
            Med(x => x.Cpu.ServerUs),
            Med(x => x.Cpu.RedisUs),
            Med(x => x.Cpu.BenchUs),
            Med(x => x.Cpu.OtherCores),
            Med(x => x.Cpu.MachineBusyShare),
            samples);
    }

    internal static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }
}

internal sealed record BenchReport(
    DateTimeOffset StartedAt,
    double TotalSeconds,
    MachineInfo Machine,
    string LoadAverageAtEnd,
    Settings Settings,
    EventBusInfo EventBus,
    EventBusInfo? ReadServer,
    RedisInfo? Redis,
    SeedResult? Seed,
    List<PhaseSummary> Phases,
    List<Ratio> Ratios,
    List<Goal> Goals);

internal sealed record Settings(
    int Clients, int PayloadBytes, double WarmupSeconds, double DurationSeconds, double ReadDurationSeconds, int Repetitions);

/// <summary>A phase's medians over its repetitions (each percentile is the median of the repetitions' percentiles).</summary>
internal sealed record PhaseSummary(
    string Key,
    string Title,
    PhaseGroup Group,
    int Clients,
    int Repetitions,
    double OpsPerSecond,
    double P50Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double MinOpsPerSecond,
    double MaxOpsPerSecond,
    int Errors,
    string? FirstError,
    double ServerUsPerOp,
    double RedisUsPerOp,
    double BenchUsPerOp,
    double OtherCores,
    double MachineBusyShare,
    List<RunSample> Samples);

/// <summary>A throughput ratio: of the medians, and per round (both phases of a round ran back to back).</summary>
internal sealed record Ratio(string Name, string Numerator, string Denominator, double OfMedians, double PerRoundMedian, double PerRoundMin, double PerRoundMax);

internal sealed record Goal(string Name, string Target, string Measured, bool Met);
