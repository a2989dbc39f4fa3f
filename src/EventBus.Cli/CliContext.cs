using System.Net;
using EventBus.Server.Platform;

namespace EventBus.Cli;

/// <summary>
/// Everything a command touches outside its arguments: the standard streams, the environment, the working
/// directory, the host name. The process uses <see cref="FromProcess"/>; tests pass their own, so commands run
/// in-process with a controlled environment.
/// </summary>
public sealed class CliContext
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Reads an environment variable (null when unset).</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public string CurrentDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>The name the CLI sends as <c>machine</c>: this host's name.</summary>
    public string MachineName { get; init; } = HostName();

    /// <summary>The user's home folder (for user-scope Claude Code settings).</summary>
    public string HomeDirectory { get; init; } = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The machine: its OS, user and programs (service install, notifications).</summary>
    public IHostPlatform Platform { get; init; } = HostPlatform.Current;

    /// <summary>The real process: its console, environment and folder.</summary>
    public static CliContext FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
    };

    private static string HostName()
    {
        try
        {
            return Dns.GetHostName();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return System.Environment.MachineName;
        }
    }
}
