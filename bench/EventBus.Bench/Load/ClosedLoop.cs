using System.Diagnostics;

namespace EventBus.Bench.Load;

/// <summary>One client's operation: sends one request, waits for its reply; false (or a throw) counts as an error.</summary>
internal delegate ValueTask<bool> Operation(CancellationToken cancellationToken);

/// <summary>
/// Closed-loop load: every client sends, waits for the reply, and sends again, for a fixed time. All clients start
/// together; each records the latency of every operation it completes.
/// </summary>
internal static class ClosedLoop
{
    private const int MaxConsecutiveErrors = 50;

    public static async Task<RunSample> RunAsync(
        IReadOnlyList<Operation> clients, TimeSpan duration, CpuMeter cpu, CancellationToken cancellationToken)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var durationTicks = (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long start = 0;
        var loops = clients.Select(c => Task.Run(async () =>
        {
            await go.Task;
            return await LoopAsync(c, Volatile.Read(ref start) + durationTicks, cancellationToken);
        }, cancellationToken)).ToArray();

        var cpuBefore = cpu.Read();
        Volatile.Write(ref start, Stopwatch.GetTimestamp());
        go.SetResult();
        var results = await Task.WhenAll(loops);
        var end = Stopwatch.GetTimestamp();
        var cpuUsed = cpu.Read() - cpuBefore;

        var elapsed = (end - start) / (double)Stopwatch.Frequency;
        var ops = results.Sum(r => r.Latencies.Count);
        var latencies = new long[ops];
        var offset = 0;
        foreach (var r in results)
        {
            r.Latencies.CopyTo(latencies, offset);
            offset += r.Latencies.Count;
        }

        Array.Sort(latencies);
        return new RunSample(
            ops,
            results.Sum(r => r.Errors),
            results.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            elapsed,
            ops / elapsed,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            Percentile(latencies, 0.999),
            latencies.Length == 0 ? 0 : ToMs(latencies[^1]),
            cpuUsed.PerOp(ops, elapsed));
    }

    private static async Task<LoopResult> LoopAsync(Operation operation, long deadline, CancellationToken cancellationToken)
    {
        var latencies = new List<long>(1 << 15);
        var errors = 0;
        var consecutive = 0;
        string? firstError = null;
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            var t0 = Stopwatch.GetTimestamp();
            bool ok;
            string? error = null;
            try
            {
                ok = await operation(cancellationToken);
                if (!ok)
                {
                    error = "unexpected reply";
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                ok = false;
                error = $"{ex.GetType().Name}: {ex.Message}";
            }

            var t1 = Stopwatch.GetTimestamp();
            if (ok)
            {
                latencies.Add(t1 - t0);
                consecutive = 0;
                continue;
            }

            errors++;
            firstError ??= error;
            if (++consecutive >= MaxConsecutiveErrors)
            {
                break;
            }
        }

        return new LoopResult(latencies, errors, firstError);
    }

    private static double Percentile(long[] sorted, double q)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        // Nearest rank: the smallest sample with at least q of the samples at or below it.
        var rank = (int)Math.Ceiling(q * sorted.Length);
        return ToMs(sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)]);
    }

    private static double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private sealed record LoopResult(List<long> Latencies, int Errors, string? FirstError);
}

/// <summary>One timed repetition of a phase.</summary>
/// <param name="Ops">Operations completed successfully.</param>
/// <param name="Cpu">CPU spent per operation by each process measured, and the machine's busy share.</param>
internal sealed record RunSample(
    int Ops,
    int Errors,
    string? FirstError,
    double ElapsedSeconds,
    double OpsPerSecond,
    double P50Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    CpuPerOp Cpu);
