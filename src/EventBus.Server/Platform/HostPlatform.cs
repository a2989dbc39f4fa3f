using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EventBus.Server.Platform;

/// <summary>The real machine.</summary>
public sealed class HostPlatform : IHostPlatform
{
    private HostPlatform()
    {
    }

    public static HostPlatform Current { get; } = new();

    public HostOs Os { get; } = OperatingSystem.IsLinux() ? HostOs.Linux : OperatingSystem.IsMacOS() ? HostOs.MacOS : HostOs.Other;

    public string HomeDirectory => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public int UserId => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? (int)GetUid() : -1;

    public string UserName => Environment.UserName;

    public string? ProcessPath => Environment.ProcessPath;

    public string? GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);

    public string? FindExecutable(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0))
            {
                return candidate;
            }
        }

        return null;
    }

    public async Task<CommandResult> RunAsync(CommandLine command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new System.ComponentModel.Win32Exception($"{command.FileName} did not start");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(limit.Token);
        var error = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token);
            return new CommandResult(process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    [DllImport("libc", EntryPoint = "getuid")]
    private static extern uint GetUid();
}
