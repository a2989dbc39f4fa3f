using System.Collections.Concurrent;
using EventBus.Server.Platform;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// A machine the test describes: its OS, environment and programs. Commands are recorded, not run (unless
/// <see cref="Run"/> says otherwise), so a test asserts which command line would have run.
/// </summary>
internal sealed class FakePlatform(HostOs os) : IHostPlatform
{
    private readonly ConcurrentQueue<CommandLine> _ran = new();

    public HostOs Os { get; } = os;

    public string HomeDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"), "home");

    public int UserId { get; init; } = 1000;

    public string UserName { get; init; } = "agent";

    public string? ProcessPath { get; init; }

    public Dictionary<string, string> Environment { get; init; } = [];

    /// <summary>Programs on the PATH: name → full path.</summary>
    public Dictionary<string, string> Programs { get; init; } = [];

    /// <summary>What each command returns (default: exit 0, no output).</summary>
    public Func<CommandLine, CommandResult> Run { get; init; } = _ => new CommandResult(0, "", "");

    /// <summary>The command lines run so far, in order.</summary>
    public IReadOnlyList<CommandLine> Ran => [.. _ran];

    public string? GetEnvironmentVariable(string name) => Environment.GetValueOrDefault(name);

    public string? FindExecutable(string name) => Programs.GetValueOrDefault(name);

    public Task<CommandResult> RunAsync(CommandLine command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _ran.Enqueue(command);
        return Task.FromResult(Run(command));
    }
}
