using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests;

/// <summary>A connection that registers is bound to that session; subscriptions are stored per session.</summary>
public sealed class BindingAndSubscriptionTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task RegisterBindsTheConnection_LaterCallsDefaultToIt_AnExplicitSessionIdWins()
    {
        var client = await _host.ConnectAsync();
        var a = (await client.CallAsync("register_session", new { name = "a", machine = "m", client_id = "ca" })).Str("session_id");
        var b = (await client.CallAsync("register_session", new { name = "b", machine = "m", client_id = "cb" })).Str("session_id");

        (await client.CallAsync("publish_event", new { event_type = "note", payload = "as b" })).GetProperty("event_id");
        var asA = await client.CallAsync("publish_event", new { event_type = "note", payload = "as a", session_id = a });

        var observer = await _host.ConnectAsync();
        var latest = (await observer.CallAsync("get_events", new { limit = 2 })).GetProperty("events");
        latest[0].Str("session_id").Should().Be(a);
        latest[1].Str("session_id").Should().Be(b);
        asA.GetProperty("event_id").GetInt64().Should().BePositive();

        // A resumed registration rebinds: reads now consume a's cursor.
        await client.CallAsync("register_session", new { name = "a", machine = "m", client_id = "ca" });
        var read = await client.CallAsync("get_events", new { order = "asc" });
        read.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).Should().Equal("b started on m in ", "as b", "as a");
        (await client.CallAsync("ack_events", new { cursor = read.Str("next_cursor") })).Str("session_id").Should().Be(a);
    }

    [Fact]
    public async Task Subscriptions_RoundTrip_WithDefaultsAndClearErrors()
    {
        var client = await _host.ConnectAsync();
        (await client.CallFailingAsync("subscribe", new { channel = "alerts:#" }))
            .Should().Contain("subscribe needs \"session_id\": pass it, or call register_session on this connection first");

        var me = (await client.CallAsync("register_session", new { name = "listener", machine = "m" })).Str("session_id");
        var added = await client.CallAsync("subscribe", new { channel = "alerts:#" });
        added.Str("min_level").Should().Be("actionable");
        added.Str("session_id").Should().Be(me);
        await client.CallAsync("subscribe", new { channel = "repo:*", min_level = "info" });
        await client.CallAsync("subscribe", new { channel = "alerts:#", min_level = "lifecycle" });

        var list = await client.CallAsync("list_subscriptions");
        list.GetProperty("subscriptions").EnumerateArray()
            .Select(s => $"{s.Str("channel")}/{s.Str("min_level")}/{s.GetProperty("implicit").GetBoolean()}")
            .Should().Equal($"session:{me}/lifecycle/True", "alerts:#/lifecycle/False", "repo:*/info/False");

        (await client.CallAsync("unsubscribe", new { channel = "repo:*" })).GetProperty("success").GetBoolean().Should().BeTrue();
        (await client.CallAsync("unsubscribe", new { channel = "repo:*" })).Str("error").Should().Be("Not subscribed");
        (await client.CallFailingAsync("subscribe", new { channel = "alerts:#:x" })).Should().Contain("may only be the last segment");
        (await client.CallFailingAsync("subscribe", new { channel = "x", min_level = "loud" })).Should().Contain("min_level must be one of");
        (await client.CallAsync("subscribe", new { channel = "x", session_id = "nobody" })).Str("error").Should().Be("Session not found");
    }
}
