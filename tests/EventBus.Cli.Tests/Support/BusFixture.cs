namespace EventBus.Cli.Tests.Support;

/// <summary>One real server shared by a test class (tests use their own channels and client ids).</summary>
public class BusFixture : IAsyncLifetime
{
    internal BusHost Bus { get; private set; } = null!;

    public Uri McpUri => Bus.McpUri;

    public async Task InitializeAsync() => Bus = await BusHost.StartAsync(false, Arguments);

    /// <summary>Extra server arguments of a derived fixture.</summary>
    protected virtual string[] Arguments => [];

    public async Task DisposeAsync() => await Bus.DisposeAsync();

    /// <summary>A URL where nothing listens (a port that was free a moment ago).</summary>
    public static string DeadUrl()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}/mcp";
    }

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>A server that may deliver webhooks to loopback receivers (the test's own), as a LAN setup would allow.</summary>
public sealed class PrivateWebhooksBusFixture : BusFixture
{
    protected override string[] Arguments => ["--EventBus:Webhooks:AllowPrivateNetworks=true"];
}
