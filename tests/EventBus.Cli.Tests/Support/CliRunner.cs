using System.Text.Json;
using EventBus.Cli;

namespace EventBus.Cli.Tests.Support;

/// <summary>What one command printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>stdout parsed as one JSON value.</summary>
    public JsonElement Json() => JsonDocument.Parse(Out).RootElement.Clone();

    /// <summary>Each stdout line parsed as JSON (for commands that print one object per line).</summary>
    public IReadOnlyList<JsonElement> JsonLines() =>
        Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>
/// Runs <c>eventbus</c> commands in-process (<see cref="CliApp.RunAsync"/>) with a controlled environment: only the
/// variables given are set, the working directory and host name are the test's, stdin is a string.
/// </summary>
internal sealed class CliRunner
{
    private readonly Dictionary<string, string?> _environment = new(StringComparer.Ordinal);

    public CliRunner(Uri? mcpUrl = null)
    {
        if (mcpUrl is not null)
        {
            _environment["EVENTBUS_URL"] = mcpUrl.ToString();
        }
    }

    public string MachineName { get; init; } = "test-machine";

    public string CurrentDirectory { get; init; } = "/home/dev/projects/gizmo";

    public string HomeDirectory { get; init; } = Path.GetTempPath();

    /// <summary>The machine the commands see (default: this one).</summary>
    public Server.Platform.IHostPlatform? Platform { get; init; }

    /// <summary>Sets (or, with null, unsets) an environment variable for the commands this runs.</summary>
    public CliRunner With(string name, string? value)
    {
        _environment[name] = value;
        return this;
    }

    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, stdin: null);

    public async Task<CliResult> RunAsync(string[] args, string? stdin, CancellationToken cancellationToken = default)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new CliContext
        {
            Out = output,
            Error = error,
            In = new StringReader(stdin ?? ""),
            Environment = name => _environment.GetValueOrDefault(name),
            CurrentDirectory = CurrentDirectory,
            MachineName = MachineName,
            HomeDirectory = HomeDirectory,
            Platform = Platform ?? Server.Platform.HostPlatform.Current,
        };
        var token = cancellationToken.CanBeCanceled ? cancellationToken : TestTimeouts.Token();
        var code = await CliApp.RunAsync(args, context, token);
        return new CliResult(code, output.ToString(), error.ToString());
    }
}
