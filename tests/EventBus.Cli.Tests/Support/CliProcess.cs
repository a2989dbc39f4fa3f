using System.Diagnostics;

namespace EventBus.Cli.Tests.Support;

/// <summary>The built <c>eventbus</c> binary, run as a real process (stdin, pipes, signals, exit codes).</summary>
internal static class CliProcess
{
    /// <summary>
    /// The command to start <c>eventbus</c>: the apphost the build put in artifacts/bin/EventBus.Cli/&lt;config&gt;,
    /// else <c>dotnet eventbus.dll</c> from the test's own output (the project reference copies it there).
    /// </summary>
    public static (string FileName, string[] PrefixArgs) Command()
    {
        var here = AppContext.BaseDirectory;
        var config = new DirectoryInfo(here).Name; // artifacts/bin/EventBus.Cli.Tests/<config>/
        var apphost = Path.GetFullPath(Path.Combine(here, "..", "..", "EventBus.Cli", config, "eventbus"));
        if (File.Exists(apphost))
        {
            return (apphost, []);
        }

        return ("dotnet", [Path.Combine(here, "eventbus.dll")]);
    }

    /// <summary>Starts <c>eventbus ARGS</c> with redirected streams and the given extra environment.</summary>
    public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var (file, prefix) = Command();
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var a in prefix.Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        // A clean slate: the machine's own bus settings must not leak into a test.
        foreach (var name in (string[])["EVENTBUS_URL", "AGENT_EVENT_BUS_URL", "EVENTBUS_SESSION_ID", "AGENT_EVENT_BUS_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "EVENTBUS_TOKEN", "EVENTBUS_DELIVERY", "CLAUDE_PLUGIN_OPTION_URL", "CLAUDE_PLUGIN_OPTION_TOKEN"])
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    /// <summary>Runs <c>eventbus ARGS</c> to completion and returns what it printed.</summary>
    public static async Task<CliResult> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        using var process = Start(args, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default * 2);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new CliResult(process.ExitCode, await output, await error);
    }
}
