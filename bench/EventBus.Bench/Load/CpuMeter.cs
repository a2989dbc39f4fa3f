using System.Diagnostics;
using System.Globalization;

namespace EventBus.Bench.Load;

/// <summary>
/// Reads CPU time from /proc: the EventBus server's, Redis's, this process's, and the whole machine's, so each
/// phase can say where the cycles went (and how much other work on a shared machine took).
/// </summary>
internal sealed class CpuMeter(int? serverPid, int? redisPid)
{
    private static readonly double TicksPerSecond = 100.0; // USER_HZ; 100 on every Linux this runs on.

    public CpuReading Read() => new(
        ProcessSeconds(serverPid),
        ProcessSeconds(redisPid),
        Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
        MachineBusySeconds(out var total),
        total);

    private static double ProcessSeconds(int? pid)
    {
        if (pid is not { } p || !OperatingSystem.IsLinux())
        {
            return 0;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{p}/stat");
            // The command name may hold spaces: fields are counted after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 (utime) and 15 (stime) of stat(5), i.e. 11 and 12 after "pid (comm)".
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Busy CPU seconds of the whole machine (all cores), from the first line of /proc/stat.</summary>
    private static double MachineBusySeconds(out double totalSeconds)
    {
        totalSeconds = 0;
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var line = File.ReadLines("/proc/stat").First();
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal
        var idle = values[3] + values[4];
        var total = values.Sum();
        totalSeconds = total / TicksPerSecond;
        return (total - idle) / TicksPerSecond;
    }
}

/// <summary>CPU seconds used so far.</summary>
internal readonly record struct CpuReading(double Server, double Redis, double Bench, double MachineBusy, double MachineTotal)
{
    public static CpuReading operator -(CpuReading a, CpuReading b) =>
        new(a.Server - b.Server, a.Redis - b.Redis, a.Bench - b.Bench, a.MachineBusy - b.MachineBusy, a.MachineTotal - b.MachineTotal);

    public CpuPerOp PerOp(int ops, double elapsedSeconds)
    {
        double Us(double seconds) => ops == 0 ? 0 : seconds * 1e6 / ops;
        var others = MachineBusy - Server - Redis - Bench;
        return new CpuPerOp(
            Us(Server),
            Us(Redis),
            Us(Bench),
            MachineTotal > 0 ? MachineBusy / MachineTotal : 0,
            elapsedSeconds > 0 ? Math.Max(0, others) / elapsedSeconds : 0);
    }
}

/// <summary>
/// CPU microseconds per operation in the EventBus server, in Redis and in the load generator; how busy the machine
/// was (0..1 of all cores); and how many cores other processes kept busy meanwhile (noise on a shared machine).
/// </summary>
internal sealed record CpuPerOp(double ServerUs, double RedisUs, double BenchUs, double MachineBusyShare, double OtherCores);
