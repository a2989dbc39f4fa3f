using System.Text.Json;
using EventBus.Server.Hosting;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests;

/// <summary>Start-up, configuration and health.</summary>
public sealed class HostTests
{
    [Fact]
    public async Task Health_ReportsStatusVersionAndTheStore()
    {
        await using var host = await BusHost.StartAsync();
        var health = JsonDocument.Parse(await host.Http.GetStringAsync("/health")).RootElement;
        health.GetProperty("status").GetString().Should().Be("ok");
        health.GetProperty("service").GetString().Should().Be("eventbus");
        health.GetProperty("version").GetString().Should().MatchRegex(@"^\d+\.\d+\.\d+");
        var store = health.GetProperty("store");
        store.GetProperty("kind").GetString().Should().Be("sqlite");
        store.GetProperty("path").GetString().Should().Be(host.DatabasePath);
        store.GetProperty("schema_version").GetInt32().Should().BePositive();
        store.GetProperty("writable").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [InlineData("--port", "70000", "EventBus:Port must be between 0 and 65535 (got 70000)")]
    [InlineData("--port", "eighty", "EventBus:Port")]
    [InlineData("--host", "not-an-address", "EventBus:Host must be an IP address or \"localhost\"")]
    [InlineData("--EventBus:MaxPayloadBytes", "0", "EventBus:MaxPayloadBytes must be between 1 and")]
    [InlineData("--EventBus:SessionTtl", "-01:00:00", "EventBus:SessionTtl must be positive")]
    [InlineData("--EventBus:MaxRequestBodyBytes", "10", "EventBus:MaxRequestBodyBytes must be between 1024")]
    [InlineData("--EventBus:Mcp:MaxSessions", "-5", "EventBus:Mcp:MaxSessions must be at least 1 (got -5)")]
    [InlineData("--EventBus:Mcp:KeepAliveInterval", "-00:00:01", "EventBus:Mcp:KeepAliveInterval must be positive")]
    [InlineData("--EventBus:Mcp:SessionIdleTimeout", "00:00:00", "EventBus:Mcp:SessionIdleTimeout must be positive")]
    [InlineData("--EventBus:Mcp:PruneInterval", "00:00:00", "EventBus:Mcp:PruneInterval must be positive")]
    [InlineData("--EventBus:Mcp:StreamQueueCapacity", "0", "EventBus:Mcp:StreamQueueCapacity must be between 16 and 1000000 (got 0)")]
    [InlineData("--EventBus:ExpiryInterval", "00:00:00", "EventBus:ExpiryInterval must be positive")]
    [InlineData("--EventBus:Store:MaxGroupSize", "0", "EventBus:Store:MaxGroupSize must be between 1 and 10000")]
    [InlineData("--EventBus:Limits:PublishPerSecond", "-1", "EventBus:Limits:PublishPerSecond must be between 0 (no limit) and 1000000 (got -1)")]
    [InlineData("--EventBus:Limits:PublishBurst", "0", "EventBus:Limits:PublishBurst must be between 1 and 10000000 (got 0)")]
    [InlineData("--EventBus:Limits:RegisterBurst", "0", "EventBus:Limits:RegisterBurst must be between 1 and 1000000 (got 0)")]
    [InlineData("--EventBus:Limits:MaxStreamsPerCaller", "-3", "EventBus:Limits:MaxStreamsPerCaller must be between 0 (no limit)")]
    [InlineData("--EventBus:Limits:MaxRequestHeaderBytes", "100", "EventBus:Limits:MaxRequestHeaderBytes must be between 4096 and 1048576 (got 100)")]
    [InlineData("--EventBus:Limits:MaxRequestHeaderCount", "2", "EventBus:Limits:MaxRequestHeaderCount must be between 16 and 10000 (got 2)")]
    [InlineData("--EventBus:Limits:KeepAliveTimeout", "00:00:00", "EventBus:Limits:KeepAliveTimeout must be positive")]
    [InlineData("--EventBus:Limits:MinDataRateGracePeriod", "00:00:01", "EventBus:Limits:MinDataRateGracePeriod must be longer than 1 second")]
    [InlineData("--EventBus:Limits:PublishPerSecond", "lots", "EventBus:Limits:PublishPerSecond")]
    public void BadConfiguration_StopsStartupWithAMessageNamingTheSetting(string key, string value, string message)
    {
        var act = () => EventBusApp.Build([key, value, "--db", Path.Combine(Path.GetTempPath(), "unused.db")]);
        act.Should().Throw<ConfigurationException>().WithMessage("*" + message + "*");
    }

    [Fact]
    public async Task UnopenableDatabase_StopsStartupWithAMessageNamingTheFile()
    {
        var file = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, "this is not a database, it is a text file that is long enough to have a header");
        await using var app = EventBusApp.Build(["--port", "0", "--db", file]);
        var act = () => app.StartEventBusAsync();
        await act.Should().ThrowAsync<ConfigurationException>().WithMessage($"cannot open the database {file}*");
        File.Delete(file);
    }

    [Fact]
    public async Task PortInUse_StopsStartupWithAMessageSayingSo()
    {
        await using var first = await BusHost.StartAsync();
        await using var second = EventBusApp.Build(["--port", first.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--db", Path.Combine(first.Directory, "other.db")]);
        var act = () => second.StartEventBusAsync();
        await act.Should().ThrowAsync<ConfigurationException>().WithMessage("cannot listen on 127.0.0.1:*Is another EventBus running?*");
    }

    [Fact]
    public async Task CommandLine_WinsOverAppsettings_AndTheDatabaseGoesWhereItSays()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:MaxPayloadBytes=10");
        await using var client = await host.ConnectAsync();
        (await client.CallFailingAsync("publish_event", new { event_type = "x", payload = "eleven bytes" }))
            .Should().Contain("the limit is 10 bytes");
        File.Exists(host.DatabasePath).Should().BeTrue();
    }

    [Fact]
    public async Task RestartOnTheSameDatabase_KeepsEventsSessionsAndCursors()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        string[] args = ["--port", "0", "--db", Path.Combine(directory, "bus.db"), "--Logging:LogLevel:Default=Warning"];
        string sessionId;
        string cursor;
        await using (var first = EventBusApp.Build(args))
        {
            await first.StartEventBusAsync();
            await using var client = await ConnectAsync(first);
            sessionId = (await client.CallAsync("register_session", new { name = "durable", machine = "m", client_id = "c" })).Str("session_id");
            await client.CallAsync("publish_event", new { event_type = "note", payload = "survives restarts" });
            cursor = (await client.CallAsync("get_events", new { session_id = sessionId, resume = true })).Str("next_cursor");
            await first.StopAsync();
        }

        await using var second = EventBusApp.Build(args);
        await second.StartEventBusAsync();
        await using var again = await ConnectAsync(second);
        var resumed = await again.CallAsync("register_session", new { name = "durable", machine = "m", client_id = "c" });
        resumed.Str("session_id").Should().Be(sessionId);
        resumed.Str("cursor").Should().Be(cursor);
        var events = await again.CallAsync("get_events", new { cursor = "0", limit = 10, order = "asc", peek = true });
        events.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).Should().Contain("survives restarts");
        await second.StopAsync();
        Directory.Delete(directory, recursive: true);
    }

    private static Task<ModelContextProtocol.Client.McpClient> ConnectAsync(Microsoft.AspNetCore.Builder.WebApplication app) =>
        ModelContextProtocol.Client.McpClient.CreateAsync(
            new ModelContextProtocol.Client.HttpClientTransport(new ModelContextProtocol.Client.HttpClientTransportOptions
            {
                Endpoint = new Uri(new Uri(EventBusApp.ListeningUrls(app)[0]), "/mcp"),
            }),
            cancellationToken: TestTimeouts.Token());
}
