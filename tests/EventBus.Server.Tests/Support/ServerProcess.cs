using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// The built server as a real process (<c>dotnet EventBus.Server.dll</c>, the copy beside these tests) on a free
/// loopback port, so a test can <c>kill -9</c> it and start it again on the same database.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private ServerProcess(Process process, ConcurrentQueue<string> output, Uri baseUri)
    {
        _process = process;
        _output = output;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    public Uri McpUri => new(BaseUri, "/mcp");

    /// <summary>What the server printed so far (for failure messages).</summary>
    public string Output => string.Join('\n', _output);

    public static async Task<ServerProcess> StartAsync(string directory, params string[] extraArgs)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EventBus.Server.dll");
        var dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var arg in (string[])[dll, "--port", "0", "--db", TestStore.DatabaseFor(directory), .. extraArgs])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("EVENTBUS_", StringComparison.Ordinal) && k != "EVENTBUS_TEST_RUN").ToList())
        {
            info.Environment.Remove(name);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + dll);
        var output = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = DrainAsync(process.StandardError, output, null);
        _ = DrainAsync(process.StandardOutput, output, listening);
        try
        {
            var baseUri = await listening.Task.WaitAsync(TestTimeouts.Default);
            return new ServerProcess(process, output, baseUri);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            process.Kill();
            await process.WaitForExitAsync();
            throw new InvalidOperationException("the server did not start:\n" + string.Join('\n', output), ex);
        }
    }

    /// <summary>SIGKILL: no shutdown, no flush, nothing the process could still do.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync(TestTimeouts.Token());
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(TestTimeouts.Token());
        _process.Dispose();
    }

    private static async Task DrainAsync(StreamReader reader, ConcurrentQueue<string> output, TaskCompletionSource<Uri>? listening)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            output.Enqueue(line);
            if (listening is not null && ListeningOn().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }

        listening?.TrySetException(new InvalidOperationException("the server exited"));
    }

    [GeneratedRegex(@"listening on (http://[^\s,]+)")]
    private static partial Regex ListeningOn();
}
