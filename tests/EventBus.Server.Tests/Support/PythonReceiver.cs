using System.Diagnostics;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// A webhook receiver nobody here wrote: Python's <c>http.server</c> (HTTP/1.0, one request at a time, the connection
/// closed after each answer), as a real process on a free loopback port. It answers 200 with a Content-Length, then
/// spends a few milliseconds "logging" before it closes, as real receivers do; it prints each request's
/// <c>webhook-id</c> on stdout.
/// </summary>
internal sealed class PythonReceiver : IAsyncDisposable
{
    private const string Script =
        """
        import http.server, sys, time

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                self.wfile.flush()
                print(self.headers.get("webhook-id"), flush=True)
                time.sleep(0.003)  # work after answering; the close comes after it

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """;

    private readonly Process _process;
    private readonly string _scriptPath;

    private PythonReceiver(Process process, string scriptPath, int port)
    {
        _process = process;
        _scriptPath = scriptPath;
        Url = $"http://127.0.0.1:{port}/hook";
    }

    public string Url { get; }

    public static async Task<PythonReceiver> StartAsync()
    {
        var scriptPath = Path.Combine(Path.GetTempPath(), $"eventbus-receiver-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(scriptPath, Script);
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(scriptPath);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start python3");
        var line = await process.StandardOutput.ReadLineAsync(TestTimeouts.Token());
        if (!int.TryParse(line, out var port))
        {
            process.Kill();
            throw new InvalidOperationException("the Python receiver did not start: " + await process.StandardError.ReadToEndAsync());
        }

        return new PythonReceiver(process, scriptPath, port);
    }

    /// <summary>Reads the <c>webhook-id</c>s of requests as they arrive until <paramref name="distinct"/> different ones came.</summary>
    public async Task<IReadOnlyList<string>> WaitForDistinctAsync(int distinct)
    {
        var received = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (seen.Count < distinct)
        {
            var line = await _process.StandardOutput.ReadLineAsync(deadline.Token)
                ?? throw new InvalidOperationException("the Python receiver exited: " + await _process.StandardError.ReadToEndAsync());
            received.Add(line);
            seen.Add(line);
        }

        return received;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(TestTimeouts.Token());
        _process.Dispose();
        File.Delete(_scriptPath);
    }
}
