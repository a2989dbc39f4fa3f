using EventBus.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EventBus.Cli.Tests.Support;

/// <summary>A real server that a test can stop and start again on the same SQLite file (and, by default, the same port).</summary>
internal sealed class RestartableBus : IAsyncDisposable
{
    private WebApplication? _app;

    private RestartableBus(string directory) => Directory = directory;

    public string Directory { get; }

    public string DatabasePath => Path.Combine(Directory, "bus.db");

    public int Port { get; private set; }

    public string McpUrl => $"http://127.0.0.1:{Port}/mcp";

    /// <summary>The running server's commit signal.</summary>
    public Core.Events.CommitSignal Commits =>
        (_app ?? throw new InvalidOperationException("the bus is stopped")).Services.GetRequiredService<Core.Events.CommitSignal>();

    public static async Task<RestartableBus> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var bus = new RestartableBus(directory);
        bus._app = await bus.RunAsync(0);
        bus.Port = new Uri(EventBusApp.ListeningUrls(bus._app).Single()).Port;
        return bus;
    }

    /// <summary>Starts a server on the same database; port 0 picks a free one (returned).</summary>
    public async Task<(WebApplication App, string McpUrl)> StartOtherAsync()
    {
        var app = await RunAsync(0);
        return (app, EventBusApp.ListeningUrls(app).Single().TrimEnd('/') + "/mcp");
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync(TestTimeouts.Token());
            await app.DisposeAsync();
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        _app = await RunAsync(Port);
    }

    public static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync(TestTimeouts.Token());
        await app.DisposeAsync();
    }

    private async Task<WebApplication> RunAsync(int port)
    {
        var app = EventBusApp.Build(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--db", DatabasePath, "--Logging:LogLevel:Default=Warning"]);
        await app.StartEventBusAsync(TestTimeouts.Token());
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
