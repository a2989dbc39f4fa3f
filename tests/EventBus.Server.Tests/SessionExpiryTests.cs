using System.Text.Json;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Server.Sessions;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests;

/// <summary>Fix 7: sessions expire on a timer; time is moved by hand, never waited for.</summary>
public sealed class SessionExpiryTests : IAsyncLifetime
{
    private BusHost _host = null!;
    private McpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await BusHost.StartAsync(manualTime: true);
        _client = await _host.ConnectAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<string> RegisterAsync(string name) =>
        (await _client.CallAsync("register_session", new { name, machine = "m1" })).Str("session_id");

    [Fact]
    public async Task Fix7_SessionsExpireOnATimer_WithoutAnyCallTouchingThem()
    {
        _host.Service<EventBus.Core.Bus.BusService>().Options.SessionTtl.Should().Be(TimeSpan.FromDays(1), "appsettings.json's default is one day");
        var id = await RegisterAsync("sleepy");
        var store = _host.Service<IEventStore>();

        _host.Time!.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(2));

        // The expiry service's own timer fired during Advance; the deletion commits with its farewell event.
        await Waiting.UntilCommittedAsync(_host.Service<CommitSignal>(), async () => (await store.GetSessionAsync(id, CancellationToken.None))!.DeletedAt is not null);
        (await _client.CallAsync("list_sessions")).GetArrayLength().Should().Be(0);
        await using var observer = await _host.ConnectAsync();
        var farewell = (await observer.CallAsync("get_events", new { limit = 1 })).GetProperty("events")[0];
        farewell.Str("event_type").Should().Be("session_unregistered");
        farewell.Str("payload").Should().Contain("sleepy ended on m1").And.Contain("expired");
        var read = await _client.CallAsync("get_events", new { session_id = id, resume = true });
        read.Str("error").Should().Be("Session deleted");
    }

    [Fact]
    public async Task Heartbeat_PublishAndReadKeepASessionAlive()
    {
        var publisher = await RegisterAsync("publisher");
        var reader = await RegisterAsync("reader");
        var silent = await RegisterAsync("silent");
        var expiry = _host.Service<SessionExpiryService>();

        _host.Time!.Advance(TimeSpan.FromHours(23));
        await _client.CallAsync("publish_event", new { event_type = "note", payload = "still here", session_id = publisher });
        await _client.CallAsync("get_events", new { session_id = reader, resume = true });
        _host.Time.Advance(TimeSpan.FromHours(2));
        await expiry.ExpireAsync(CancellationToken.None);

        var live = (await _client.CallAsync("list_sessions")).EnumerateArray().Select(s => s.Str("session_id")).ToList();
        live.Should().BeEquivalentTo([publisher, reader]);
        live.Should().NotContain(silent);
    }

    [Fact]
    public async Task ListSessions_ReportsAgeFromTheServersClock()
    {
        await RegisterAsync("aging");
        _host.Time!.Advance(TimeSpan.FromMinutes(90));
        var session = (await _client.CallAsync("list_sessions"))[0];
        session.GetProperty("age_seconds").GetDouble().Should().Be(5400);
        session.Str("registered_at").Should().Be("2026-11-22T02:14:00.000Z");
    }
}
