using System.Globalization;
using System.Runtime.InteropServices;

namespace EventBus.Bench;

/// <summary>What the numbers were measured on.</summary>
internal sealed record MachineInfo(
    int Cores,
    string CpuModel,
    double MemoryGib,
    string Os,
    string Kernel,
    string Runtime,
    string LoadAverageAtStart)
{
    public static MachineInfo Collect() => new(
        Environment.ProcessorCount,
        ProcValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        TotalMemoryGib(),
        OsName(),
        ReadOrEmpty("/proc/sys/kernel/osrelease"),
        RuntimeInformation.FrameworkDescription,
        LoadAverage());

    /// <summary>1, 5 and 15-minute load averages.</summary>
    public static string LoadAverage()
    {
        var text = ReadOrEmpty("/proc/loadavg");
        return string.Join(' ', text.Split(' ').Take(3));
    }

    private static double TotalMemoryGib()
    {
        var kb = ProcValue("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return kb is null ? 0 : Math.Round(long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0, 1);
    }

    private static string OsName()
    {
        var pretty = ProcValue("/etc/os-release", "PRETTY_NAME", '=');
        return pretty?.Trim('"') ?? RuntimeInformation.OSDescription;
    }

    private static string? ProcValue(string file, string key, char separator = ':')
    {
        if (!File.Exists(file))
        {
            return null;
        }

        foreach (var line in File.ReadLines(file))
        {
            var at = line.IndexOf(separator, StringComparison.Ordinal);
            if (at > 0 && line[..at].Trim() == key)
            {
                return line[(at + 1)..].Trim();
            }
        }

        return null;
    }

    private static string ReadOrEmpty(string file) => File.Exists(file) ? File.ReadAllText(file).Trim() : "";
}
