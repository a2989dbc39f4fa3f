namespace EventBus.Bench.Load;

/// <summary>One measured workload: a set of closed-loop clients and the samples of its repetitions.</summary>
internal sealed class Phase(string key, string title, PhaseGroup group, IReadOnlyList<Operation> clients, CpuMeter cpu)
{
    public string Key => key;

    public string Title => title;

    public PhaseGroup Group => group;

    public int Clients => clients.Count;

    public List<RunSample> Samples { get; } = [];

    public Task<RunSample> RunAsync(TimeSpan duration, CancellationToken cancellationToken) =>
        ClosedLoop.RunAsync(clients, duration, cpu, cancellationToken);

    /// <summary>
    /// Runs every phase once for <paramref name="warmup"/> (discarded), then <paramref name="repetitions"/> rounds in
    /// which each phase runs once for <paramref name="duration"/>. Interleaving the rounds spreads slow drifts of a
    /// shared machine over all phases instead of loading them onto whichever ran last.
    /// </summary>
    public static async Task RunRoundsAsync(
        IReadOnlyList<Phase> phases, TimeSpan warmup, TimeSpan duration, int repetitions, CancellationToken cancellationToken)
    {
        foreach (var phase in phases)
        {
            var sample = await phase.RunAsync(warmup, cancellationToken);
            Progress($"warm-up  {phase.Key,-22} {sample.OpsPerSecond,10:F0} ops/s{ErrorNote(sample)}");
        }

        for (var round = 1; round <= repetitions; round++)
        {
            foreach (var phase in phases)
            {
                var sample = await phase.RunAsync(duration, cancellationToken);
                phase.Samples.Add(sample);
                Progress(
                    $"round {round}/{repetitions} {phase.Key,-22} {sample.OpsPerSecond,10:F0} ops/s  p50 {sample.P50Ms,7:F3} ms  " +
                    $"p99 {sample.P99Ms,7:F3} ms  other cores busy {sample.Cpu.OtherCores:F2}{ErrorNote(sample)}");
            }
        }
    }

    public static void Progress(string line) => Console.Error.WriteLine($"[bench] {line}");

    private static string ErrorNote(RunSample sample) =>
        sample.Errors == 0 ? "" : $"  ERRORS {sample.Errors}: {sample.FirstError}";
}

/// <summary>How a phase is reported.</summary>
internal enum PhaseGroup
{
    /// <summary>The phases: ping, publish, Redis XADD.</summary>
    Throughput,

    /// <summary>get_events latency on the seeded database.</summary>
    Read,

    /// <summary>Extra phases that split the cost: the store alone, a tool call without a write.</summary>
    Diagnostic,
}
