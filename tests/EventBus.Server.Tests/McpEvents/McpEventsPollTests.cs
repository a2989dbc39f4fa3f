using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;
using static EventBus.Server.Tests.McpEvents.EventsJsonRpc;

namespace EventBus.Server.Tests.McpEvents;

/// <summary>The MCP Events extension (draft) on /mcp: the capability, events/list, events/poll and its errors, in raw JSON-RPC.</summary>
public sealed class McpEventsPollTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync(manualTime: true);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Initialize_DeclaresTheEventsCapability()
    {
        using var response = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
        var capabilities = (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("capabilities");
        capabilities.GetProperty("experimental").GetProperty("events").GetProperty("listChanged").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task EventsList_OffersBusEvent_WithItsArguments_PayloadAndDeliveryModes()
    {
        var result = await ResultAsync(_host, "events/list", null);
        var type = result.GetProperty("events").EnumerateArray().Single();
        type.GetProperty("name").GetString().Should().Be("bus.event");
        type.GetProperty("delivery").EnumerateArray().Select(d => d.GetString()).Should().Equal("poll", "push", "webhook");
        type.GetProperty("inputSchema").GetProperty("properties").EnumerateObject().Select(p => p.Name)
            .Should().BeEquivalentTo(["channel", "event_types", "min_level"]);
        type.GetProperty("payloadSchema").GetProperty("properties").TryGetProperty("event_id", out _).Should().BeTrue();
        result.TryGetProperty("nextCursor", out _).Should().BeFalse("one page holds the list");
    }

    [Fact]
    public async Task Poll_NullCursorStartsFromNow_ThenReturnsWhatGetEventsReturns_InTheSameOrder()
    {
        await PublishAsync(_host, "repo:a", "before", "not replayed");
        var first = await ResultAsync(_host, "events/poll", new { name = "bus.event", arguments = new { }, cursor = (string?)null });
        first.GetProperty("events").GetArrayLength().Should().Be(0, "a null cursor starts from now");
        var cursor = first.GetProperty("cursor").GetString()!;
        first.GetProperty("truncated").GetBoolean().Should().BeFalse();
        first.GetProperty("hasMore").GetBoolean().Should().BeFalse();
        first.GetProperty("nextPollMs").GetInt32().Should().BePositive();

        for (var i = 0; i < 5; i++)
        {
            await PublishAsync(_host, i % 2 == 0 ? "repo:a" : "repo:b", "note", $"n{i}");
        }

        var poll = await ResultAsync(_host, "events/poll", new { name = "bus.event", arguments = new { }, cursor });
        var expected = await GetEventsAsync(_host, cursor);
        var occurrences = poll.GetProperty("events").EnumerateArray().ToList();
        occurrences.Select(o => o.GetProperty("data")).Should().HaveCount(5)
            .And.Equal(expected, (a, b) => JsonElement.DeepEquals(a, b), "poll's data is the event exactly as get_events shows it, in its order");
        foreach (var o in occurrences)
        {
            o.GetProperty("name").GetString().Should().Be("bus.event");
            o.GetProperty("eventId").GetString().Should().Be(o.GetProperty("data").GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
            o.GetProperty("timestamp").GetString().Should().Be(o.GetProperty("data").GetProperty("timestamp").GetString());
        }

        poll.GetProperty("cursor").GetString().Should().Be(occurrences[^1].GetProperty("eventId").GetString());
        var again = await ResultAsync(_host, "events/poll", new { name = "bus.event", arguments = new { }, cursor = poll.GetProperty("cursor").GetString() });
        again.GetProperty("events").GetArrayLength().Should().Be(0, "the returned cursor is past everything delivered");
    }

    [Fact]
    public async Task Poll_ArgumentsNarrowByChannelPattern_EventTypes_AndMinLevel()
    {
        var cursor = (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = (string?)null })).GetProperty("cursor").GetString();
        var disk = await PublishAsync(_host, "alerts:disk", "ci_failed", "disk full", "actionable");
        await PublishAsync(_host, "alerts:disk", "note", "just chatter", "info");
        await PublishAsync(_host, "repo:x", "ci_failed", "other channel", "actionable");
        var deep = await PublishAsync(_host, "alerts:net:eth0", "ci_failed", "link down", "actionable");

        var poll = await ResultAsync(_host, "events/poll", new
        {
            name = "bus.event",
            arguments = new { channel = "alerts:#", event_types = new[] { "ci_failed" }, min_level = "actionable" },
            cursor,
        });
        poll.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("id").GetInt64()).Should().Equal(disk, deep);

        var exact = await ResultAsync(_host, "events/poll", new { name = "bus.event", arguments = new { channel = "alerts:disk" }, cursor });
        exact.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data"))
            .Should().Equal(await GetEventsAsync(_host, cursor!, "alerts:disk"), (a, b) => JsonElement.DeepEquals(a, b));
    }

    [Fact]
    public async Task Poll_MaxEvents_ReturnsAPartialBatch_WithHasMore_AndAnIntermediateCursor()
    {
        var cursor = (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = (string?)null })).GetProperty("cursor").GetString();
        for (var i = 0; i < 5; i++)
        {
            await PublishAsync(_host, "all", "note", $"n{i}");
        }

        var ids = new List<long>();
        var polls = 0;
        bool hasMore;
        do
        {
            var poll = await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor, maxEvents = 2 });
            ids.AddRange(poll.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("id").GetInt64()));
            hasMore = poll.GetProperty("hasMore").GetBoolean();
            if (hasMore)
            {
                poll.GetProperty("nextPollMs").GetInt32().Should().Be(0, "the client should poll again at once");
            }

            cursor = poll.GetProperty("cursor").GetString();
            polls++;
        }
        while (hasMore);

        polls.Should().Be(3);
        ids.Should().Equal((await GetEventsAsync(_host, "0")).TakeLast(5).Select(e => e.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task Poll_StaleCursorBeyondMaxAge_SkipsTheOldEvents_AndSetsTruncated()
    {
        var cursor = (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = (string?)null })).GetProperty("cursor").GetString();
        await PublishAsync(_host, "all", "note", "old 1");
        await PublishAsync(_host, "all", "note", "old 2");
        _host.Time!.Advance(TimeSpan.FromMinutes(10));
        var fresh = await PublishAsync(_host, "all", "note", "fresh");

        var bounded = await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor, maxAgeMs = 60_000 });
        bounded.GetProperty("truncated").GetBoolean().Should().BeTrue("events older than the maxAgeMs floor were skipped");
        bounded.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("id").GetInt64()).Should().Equal(fresh);

        var wide = await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor, maxAgeMs = 3_600_000 });
        wide.GetProperty("truncated").GetBoolean().Should().BeFalse("nothing was older than an hour");
        wide.GetProperty("events").GetArrayLength().Should().Be(3);

        var unbounded = await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor });
        unbounded.GetProperty("truncated").GetBoolean().Should().BeFalse();
        unbounded.GetProperty("events").GetArrayLength().Should().Be(3);
    }

    [Theory]
    [InlineData("events/poll", """{"name":"nope","cursor":null}""", -32011, "kind", "event")]
    [InlineData("events/stream", """{"name":"nope","cursor":null}""", -32011, "kind", "event")]
    [InlineData("events/poll", """{"name":"bus.event","arguments":{"colour":"red"},"cursor":null}""", -32602, null, "no argument \"colour\"")]
    [InlineData("events/poll", """{"name":"bus.event","arguments":{"channel":"alerts:#:x"},"cursor":null}""", -32602, null, "'#'")]
    [InlineData("events/poll", """{"name":"bus.event","arguments":{"min_level":"loud"},"cursor":null}""", -32602, null, "min_level")]
    [InlineData("events/poll", """{"name":"bus.event","cursor":"abc"}""", -32602, null, "cursor must be null")]
    [InlineData("events/poll", """{"name":"bus.event","cursor":null,"maxEvents":0}""", -32602, null, "maxEvents")]
    [InlineData("events/poll", """{"name":"bus.event","cursor":null,"maxAgeMs":-5}""", -32602, null, "maxAgeMs")]
    [InlineData("events/poll", """{"cursor":null}""", -32602, null, "name")]
    [InlineData("events/subscribe", """{"name":"bus.event","arguments":{},"delivery":{"mode":"push","url":"https://example.com/h","secret":"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}""", -32014, "feature", "deliveryMode")]
    [InlineData("events/unsubscribe", """{"name":"nope","arguments":{},"delivery":{"url":"https://example.com/h"}}""", -32011, "kind", "event")]
    public async Task BadRequests_GetTheDraftsErrorCodes_WithTheirData(string method, string parameters, int code, string? dataKey, string expected)
    {
        var error = await ErrorAsync(_host, method, JsonDocument.Parse(parameters).RootElement);
        error.GetProperty("code").GetInt32().Should().Be(code);
        if (dataKey is null)
        {
            error.GetProperty("message").GetString().Should().Contain(expected);
        }
        else
        {
            error.GetProperty("data").GetProperty(dataKey).GetString().Should().Be(expected);
        }
    }

    [Fact]
    public async Task Poll_KeepsDirectMessagesPrivate_ExactlyAsGetEventsDoes()
    {
        var (_, alice) = await _host.ConnectWithTokenAsync("alice", TokenScope.Publish);
        var (_, bob) = await _host.ConnectWithTokenAsync("bob", TokenScope.Publish);
        var eve = await _host.CreateTokenAsync("eve", TokenScope.Read);
        var a = await RegisterAsync(_host, alice, "alice");
        var b = await RegisterAsync(_host, bob, "bob");

        var dm = await PublishAsync(_host, "session:" + b, "note", "the password is swordfish", token: alice, session: a);
        var broadcast = await PublishAsync(_host, "all", "note", "standup at 10", token: alice, session: a);

        async Task<List<long>> PolledAsync(string token) =>
            [.. (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = "0", maxEvents = 1000 }, token))
                .GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("id").GetInt64())];

        (await PolledAsync(bob)).Should().Contain([dm, broadcast]);
        (await PolledAsync(eve)).Should().Contain(broadcast).And.NotContain(dm, "a DM is private to its recipient and sender");
        foreach (var token in new[] { alice, bob, eve })
        {
            (await PolledAsync(token)).Should().Equal(
                (await GetEventsAsync(_host, "0", token: token)).Select(e => e.GetProperty("id").GetInt64()), "poll sees what get_events sees");
        }
    }
}
