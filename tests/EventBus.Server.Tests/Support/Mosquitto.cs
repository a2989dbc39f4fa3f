using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// A real Mosquitto broker (Debian's package; <c>make test</c> installs it) on a free loopback port, with its own config
/// and persistence in a temp folder, so it can be restarted with its sessions. Always stopped on dispose.
/// </summary>
internal sealed class Mosquitto : IAsyncDisposable
{
    private readonly string _directory;
    private Process? _process;

    private Mosquitto(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"mqtt://127.0.0.1:{Port}";

    public static async Task<Mosquitto> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "mosquitto-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var broker = new Mosquitto(directory, FreePort());
        await File.WriteAllTextAsync(Path.Combine(directory, "mosquitto.conf"), $"""
            listener {broker.Port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {directory}/
            autosave_interval 1
            user root
            log_dest stderr
            """);
        await broker.StartAgainAsync();
        return broker;
    }

    /// <summary>Stops the broker (it saves its sessions and queued messages), leaving the port free.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            // SIGTERM: mosquitto writes its persistence file on the way out.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(TestTimeouts.Token());
            }

            await process.WaitForExitAsync(TestTimeouts.Token());
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the broker (again) on the same port and data, and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Executable(), ["-c", Path.Combine(_directory, "mosquitto.conf")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        // Mosquitto logs "mosquitto version … running" once its listeners are open: the broker says when it is ready.
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process = Process.Start(start) ?? throw new InvalidOperationException("mosquitto did not start");
        _process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is null)
            {
                ready.TrySetException(new InvalidOperationException($"mosquitto stopped before it was ready (port {Port}): {string.Join('\n', log)}"));
                return;
            }

            log.Enqueue(line.Data);
            if (line.Data.Contains(" running", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        await Waiting.ForAsync(ready.Task);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync(TestTimeouts.Token());
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static string Executable() =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException(
            "mosquitto is not installed: `make test` installs it (scripts/test-deps.sh), or: apt-get install -y mosquitto mosquitto-clients");

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
