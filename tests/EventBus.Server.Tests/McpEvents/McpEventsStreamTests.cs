using System.Text.Json;
using EventBus.Server.Tests.Support;
using static EventBus.Server.Tests.McpEvents.EventsJsonRpc;

namespace EventBus.Server.Tests.McpEvents;

/// <summary><c>events/stream</c>: push over a long-lived POST SSE response, in raw JSON-RPC (a real clock, a short heartbeat).</summary>
public sealed class McpEventsStreamTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync(false, "--EventBus:Mcp:KeepAliveInterval", "00:00:00.200");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Stream_ConfirmsWithActive_ThenDeliversEventsAsGetEventsOrdersThem_WithCursorsAndTheSubscriptionId()
    {
        var before = (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = (string?)null })).GetProperty("cursor").GetString()!;
        await using var stream = await EventStreamReader.OpenAsync(_host, new { name = "bus.event", arguments = new { channel = "repo:*" }, cursor = (string?)null }, id: "sub-1");

        var active = await stream.NextOfAsync("notifications/events/active");
        active.GetProperty("params").GetProperty("truncated").GetBoolean().Should().BeFalse();
        active.GetProperty("params").GetProperty("cursor").GetString().Should().Be(before);
        active.GetProperty("params").GetProperty("_meta").GetProperty("io.modelcontextprotocol/subscriptionId").GetString().Should().Be("sub-1");
        stream.PrimingIds.Should().ContainSingle("the stream opens with a priming event");
        stream.Retries.Should().ContainSingle();

        await PublishAsync(_host, "repo:a", "note", "one");
        await PublishAsync(_host, "other", "note", "not on repo:*");
        await PublishAsync(_host, "repo:b", "note", "two");
        await PublishAsync(_host, "repo:a", "note", "three");

        var pushed = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            pushed.Add((await stream.NextOfAsync("notifications/events/event")).GetProperty("params"));
        }

        var expected = (await GetEventsAsync(_host, before)).Where(e => e.GetProperty("channel").GetString()!.StartsWith("repo:", StringComparison.Ordinal)).ToList();
        pushed.Select(p => p.GetProperty("data")).Should().Equal(expected, (a, b) => JsonElement.DeepEquals(a, b), "push delivers what get_events shows, in its order");
        foreach (var p in pushed)
        {
            p.GetProperty("cursor").GetString().Should().Be(p.GetProperty("eventId").GetString(), "the cursor after an event is its id");
            p.GetProperty("_meta").GetProperty("io.modelcontextprotocol/subscriptionId").GetString().Should().Be("sub-1");
        }
    }

    [Fact]
    public async Task Stream_WhenQuiet_SendsHeartbeatsCarryingTheCursor_ThatAdvancesPastEventsItDoesNotWant()
    {
        await using var stream = await EventStreamReader.OpenAsync(_host, new { name = "bus.event", arguments = new { channel = "alerts:#" }, cursor = (string?)null });
        await stream.NextOfAsync("notifications/events/active");
        var unwanted = await PublishAsync(_host, "chatter", "note", "not for this subscription");

        // Heartbeats keep coming; one of them reports a position at or past the event this subscription filtered out.
        while (true)
        {
            var beat = await stream.NextOfAsync("notifications/events/heartbeat");
            if (long.Parse(beat.GetProperty("params").GetProperty("cursor").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= unwanted)
            {
                break;
            }
        }
    }

    [Fact]
    public async Task Stream_ResumesFromACursor_ReplayingWhatFollowsItFirst()
    {
        var cursor = (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = (string?)null })).GetProperty("cursor").GetString()!;
        var missed = new[]
        {
            await PublishAsync(_host, "all", "note", "missed 1"),
            await PublishAsync(_host, "all", "note", "missed 2"),
        };

        await using var stream = await EventStreamReader.OpenAsync(_host, new { name = "bus.event", arguments = new { }, cursor });
        (await stream.NextOfAsync("notifications/events/active")).GetProperty("params").GetProperty("cursor").GetString().Should().Be(cursor);
        var live = await PublishAsync(_host, "all", "note", "live");
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await stream.NextOfAsync("notifications/events/event")).GetProperty("params").GetProperty("data").GetProperty("id").GetInt64());
        }

        ids.Should().Equal(missed[0], missed[1], live);
    }

    [Fact]
    public async Task Stream_ServerStopping_EndsWithTheEmptyStreamEventsResult()
    {
        await using var stream = await EventStreamReader.OpenAsync(_host, new { name = "bus.event", cursor = (string?)null }, id: 9);
        await stream.NextOfAsync("notifications/events/active");
        var stopping = _host.App.StopAsync(TestTimeouts.Token());
        JsonElement final;
        do
        {
            final = await stream.NextAsync();
        }
        while (final.TryGetProperty("method", out _));

        final.GetProperty("id").GetInt32().Should().Be(9);
        final.GetProperty("result").GetProperty("_meta").EnumerateObject().Should().BeEmpty();
        await stopping;
    }

    [Fact]
    public async Task Stream_WithInvalidParams_IsAnErrorAndNoStream()
    {
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"events/stream","params":{"name":"bus.event","arguments":{"channel":""},"cursor":null}}""");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        error.GetProperty("code").GetInt32().Should().Be(-32602);
    }
}
