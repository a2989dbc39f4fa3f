namespace EventBus.Server.Platform;

/// <summary>The operating systems EventBus knows how to integrate with (notifications, services).</summary>
public enum HostOs
{
    Other,
    Linux,
    MacOS,
}

/// <summary>A program and its arguments, as they would be run (no shell in between).</summary>
public sealed record CommandLine(string FileName, IReadOnlyList<string> Arguments)
{
    public override string ToString() => string.Join(' ', new[] { FileName }.Concat(Arguments));
}

/// <summary>How a command ended: its exit code and what it printed.</summary>
public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// What EventBus asks of the machine it runs on: which OS, its environment, the programs on the PATH, and running
/// them. The process uses <see cref="HostPlatform.Current"/>; tests pass their own, so the macOS paths (a LaunchAgent,
/// osascript) are exercised on Linux and no test runs a real systemctl or notification.
/// </summary>
public interface IHostPlatform
{
    HostOs Os { get; }

    /// <summary>The user's home folder.</summary>
    string HomeDirectory { get; }

    /// <summary>The numeric user id (launchctl's <c>gui/&lt;uid&gt;</c> domain; 0 is root).</summary>
    int UserId { get; }

    /// <summary>The user's login name.</summary>
    string UserName { get; }

    /// <summary>The running executable (<see cref="Environment.ProcessPath"/>).</summary>
    string? ProcessPath { get; }

    /// <summary>Reads an environment variable (null when unset).</summary>
    string? GetEnvironmentVariable(string name);

    /// <summary>The full path of a program found on the PATH, or null.</summary>
    string? FindExecutable(string name);

    /// <summary>Runs a program to its end (or until <paramref name="timeout"/>, when it is killed).</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    Task<CommandResult> RunAsync(CommandLine command, TimeSpan timeout, CancellationToken cancellationToken);
}
