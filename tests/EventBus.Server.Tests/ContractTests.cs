using System.Text.Json;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests;

/// <summary>The agent-event-bus tool contract, driven by the C# SDK's MCP client against the real server.</summary>
public sealed class ContractTests : IAsyncLifetime
{
    private BusHost _host = null!;
    private McpClient _client = null!;

    // Never registers: its reads are not defaulted to a bound session.
    private McpClient _observer = null!;

    public async Task InitializeAsync()
    {
        _host = await BusHost.StartAsync();
        _client = await _host.ConnectAsync();
        _observer = await _host.ConnectAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<JsonElement> Register(string name, string machine = "laptop", string? clientId = null, string cwd = "/home/ada/src/eventbus") =>
        _client.CallAsync("register_session", new Dictionary<string, object?>
        {
            ["name"] = name,
            ["machine"] = machine,
            ["cwd"] = cwd,
            ["client_id"] = clientId,
        });

    private Task<JsonElement> Publish(string type, string payload, string? sessionId = null, string channel = "all", object? extra = null)
    {
        var args = McpCalls.ToDictionary(extra) ?? [];
        args["event_type"] = type;
        args["payload"] = payload;
        args["session_id"] = sessionId;
        args["channel"] = channel;
        return _client.CallAsync("publish_event", args);
    }

    private Task<JsonElement> Events(object arguments) => _client.CallAsync("get_events", arguments);

    private Task<JsonElement> Latest(int limit = 1) => _observer.CallAsync("get_events", new { limit });

    private static List<string> Payloads(JsonElement reply) =>
        reply.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).ToList();

    [Fact]
    public async Task ListTools_OffersTheTwelveContractTools_AndOurs_WithDescriptionsAndSchemas()
    {
        var tools = await _client.ListToolsAsync(cancellationToken: TestTimeouts.Token());
        tools.Select(t => t.Name).Should().BeEquivalentTo(
            "register_session", "list_sessions", "list_channels", "publish_event", "get_events", "ack_events",
            "unregister_session", "notify", "register_webhook", "list_webhooks", "set_webhook_active", "unregister_webhook",
            "subscribe", "unsubscribe", "list_subscriptions", "list_deliveries", "redeliver", "answer_permission");
        foreach (var tool in tools)
        {
            tool.Description.Should().NotBeNullOrWhiteSpace();
            tool.JsonSchema.GetProperty("type").GetString().Should().Be("object");
        }

        var getEvents = tools.Single(t => t.Name == "get_events").JsonSchema.GetProperty("properties");
        getEvents.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(
            "cursor", "limit", "session_id", "order", "channel", "resume", "event_types", "peek", "correlation_id", "min_level",
            "wait_seconds");
    }

    [Fact]
    public async Task RegisterSession_ReturnsTheContractKeys_AndAnnouncesTheSession()
    {
        var reply = await Register("fix-login", clientId: "cc-1");

        reply.EnumerateObject().Select(p => p.Name).Should().Equal(
            "session_id", "display_id", "name", "machine", "cwd", "repo", "active_sessions", "cursor", "resumed", "tip");
        reply.Str("name").Should().Be("fix-login");
        reply.Str("machine").Should().Be("laptop");
        reply.Str("repo").Should().Be("eventbus");
        reply.Str("display_id").Should().MatchRegex("^[a-z]+-[a-z]+(-[0-9]+)?$");
        reply.GetProperty("resumed").GetBoolean().Should().BeFalse();
        reply.GetProperty("active_sessions").GetInt32().Should().Be(1);

        var latest = await Latest();
        var announced = latest.GetProperty("events")[0];
        announced.Str("event_type").Should().Be("session_registered");
        announced.Str("payload").Should().Be("fix-login started on laptop in /home/ada/src/eventbus");
        announced.Str("signal_level").Should().Be("lifecycle");
        announced.Str("session_id").Should().Be(reply.Str("session_id"));
        reply.Str("cursor").Should().Be(announced.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task RegisterSession_SameMachineAndClientId_ResumesTheSameSessionWithItsCursor()
    {
        var first = await Register("a", clientId: "cc-1");
        var id = first.Str("session_id");
        await Publish("note", "one");
        var read = await Events(new { session_id = id, resume = true });
        await _client.CallAsync("unregister_session", new { session_id = id });

        var again = await Register("a-again", clientId: "cc-1");

        again.Str("session_id").Should().Be(id);
        again.Str("display_id").Should().Be(first.Str("display_id"));
        again.GetProperty("resumed").GetBoolean().Should().BeTrue();
        again.Str("cursor").Should().Be(read.Str("next_cursor"));
    }

    [Fact]
    public async Task Fix1_NoRegistrationGap_EveryEventAfterRegisterReachesTheFirstResumeRead()
    {
        await Publish("note", "before");
        var me = await Register("reader");
        await Publish("note", "after-1");
        await Publish("note", "after-2");

        var first = await Events(new { session_id = me.Str("session_id"), resume = true, order = "asc" });

        Payloads(first).Should().Equal("after-1", "after-2");
    }

    [Fact]
    public async Task Fix2_CursorsNeverMoveBackwards_OnAConsumingRead()
    {
        var me = await Register("reader");
        var id = me.Str("session_id");
        for (var i = 0; i < 5; i++)
        {
            await Publish("note", "e" + i);
        }

        var drained = await Events(new { session_id = id, resume = true });
        var saved = drained.Str("next_cursor");

        // A consuming read from an old explicit cursor returns old events but must not rewind the saved cursor.
        var old = await Events(new { session_id = id, cursor = me.Str("cursor"), limit = 2 });
        Payloads(old).Should().HaveCount(2);

        var ack = await _client.CallAsync("ack_events", new { session_id = id, cursor = saved });
        ack.GetProperty("previous_cursor").GetString().Should().Be(saved);
        (await Events(new { session_id = id, resume = true })).GetProperty("events").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Fix3_AConsumingReadNeverSkipsBacklog_ItTakesTheOldestUnseenInTheRequestedOrder()
    {
        var me = await Register("reader");
        var id = me.Str("session_id");
        for (var i = 1; i <= 120; i++)
        {
            await Publish("note", "e" + i);
        }

        var seen = new List<string>();
        var pages = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            var page = await Events(new { session_id = id, resume = true, limit = 50 }); // order defaults to desc
            pages.Add(page);
            var payloads = Payloads(page);
            payloads.Select(p => int.Parse(p.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)).Should().BeInDescendingOrder();
            seen.AddRange(payloads);
        }

        pages.Select(p => p.GetProperty("has_more").GetBoolean()).Should().Equal(true, true, false);
        Payloads(pages[0]).Should().Contain("e1").And.Contain("e50");
        seen.Should().BeEquivalentTo(Enumerable.Range(1, 120).Select(i => "e" + i));
    }

    [Fact]
    public async Task Fix4_BadInputIsRefusedWithAClearError_AndNothingIsStored()
    {
        var me = await Register("writer");
        var id = me.Str("session_id");
        var tipBefore = (await Latest()).Str("next_cursor");

        (await _client.CallFailingAsync("get_events", new { cursor = "abc" })).Should().Contain("cursor").And.Contain("\"abc\"");
        (await _client.CallFailingAsync("get_events", new { cursor = "-5" })).Should().Contain("cursor");
        (await _client.CallFailingAsync("get_events", new { limit = 0 })).Should().Contain("limit must be between 1 and 1000 (got 0)");
        (await _client.CallFailingAsync("get_events", new { limit = 1001 })).Should().Contain("(got 1001)");
        (await _client.CallFailingAsync("get_events", new { limit = "lots" })).Should().Contain("\"limit\" must be an integer");
        (await _client.CallFailingAsync("get_events", new { order = "sideways" })).Should().Contain("order must be \"asc\" or \"desc\"");
        (await _client.CallFailingAsync("get_events", new { min_level = "loud" })).Should().Contain("min_level must be one of lifecycle, info, actionable");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x", payload = new string('p', 64 * 1024 + 1) }))
            .Should().Contain("payload is 65537 bytes; the limit is 65536 bytes");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x", payload = "p", channel = new string('c', 257) }))
            .Should().Contain("channel is 257 characters; the limit is 256");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x", payload = "p", channel = "" }))
            .Should().Contain("channel must not be empty");
        (await _client.CallFailingAsync("publish_event", new { event_type = "", payload = "p" })).Should().Contain("event_type must not be empty");
        (await _client.CallFailingAsync("publish_event", new { event_type = new string('t', 257), payload = "p" })).Should().Contain("event_type is 257 characters");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x", payload = "p", signal_level = "urgent" }))
            .Should().Contain("signal_level must be one of lifecycle, info, actionable (got \"urgent\")");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x", payload = "p", tags = "not-a-list" }))
            .Should().Contain("\"tags\" must be an array of strings");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x" })).Should().Contain("needs \"payload\"");
        (await _client.CallFailingAsync("publish_event", new { event_type = "x", payload = "p", sesion_id = id }))
            .Should().Contain("has no parameter \"sesion_id\"");
        (await _client.CallFailingAsync("register_session", new { name = "" })).Should().Contain("name must not be empty");

        (await Latest()).Str("next_cursor").Should().Be(tipBefore);
    }

    [Fact]
    public async Task Fix3_AConsumingReadWithoutResumeAlsoStartsFromTheSavedCursor_NotTheNewestWindow()
    {
        var me = await Register("poller");
        var id = me.Str("session_id");
        for (var i = 1; i <= 8; i++)
        {
            await Publish("note", "e" + i);
        }

        // The old server returned the newest 5 and saved the tip, losing e1..e3 for good.
        var first = await Events(new { session_id = id, limit = 5, order = "asc" });
        Payloads(first).Should().Equal("e1", "e2", "e3", "e4", "e5");
        first.GetProperty("has_more").GetBoolean().Should().BeTrue();
        Payloads(await Events(new { session_id = id, limit = 5, order = "asc" })).Should().Equal("e6", "e7", "e8");

        // Non-consuming reads without resume still show the newest window and leave the cursor alone.
        Payloads(await Events(new { session_id = id, limit = 2, peek = true })).Should().Equal("e8", "e7");
    }

    [Fact]
    public async Task Fix5_SessionIdIsNeverTheClientId_AndTwoMachinesWithOneClientIdDoNotCollide()
    {
        var onLaptop = await Register("a", machine: "laptop", clientId: "shared-id");
        var onServer = await Register("b", machine: "buildbox", clientId: "shared-id");

        onLaptop.Str("session_id").Should().NotBe("shared-id");
        onServer.Str("session_id").Should().NotBe(onLaptop.Str("session_id"));
        onServer.GetProperty("resumed").GetBoolean().Should().BeFalse();
        onServer.Str("machine").Should().Be("buildbox");

        var ambiguous = await _client.CallAsync("unregister_session", new { client_id = "shared-id" });
        ambiguous.Str("error").Should().Contain("pass machine or session_id");
        var gone = await _client.CallAsync("unregister_session", new { client_id = "shared-id", machine = "buildbox" });
        gone.Str("session_id").Should().Be(onServer.Str("session_id"));
    }

    [Fact]
    public async Task Fix5_MachineIsWhatTheCallerSays_NotTheServersHostname()
    {
        var reply = await Register("remote", machine: "other-box");
        reply.Str("machine").Should().Be("other-box").And.NotBe(Environment.MachineName);
        var sessions = await _client.CallAsync("list_sessions");
        sessions[0].Str("machine").Should().Be("other-box");
    }

    [Fact]
    public async Task PublishEvent_ReturnsTheContractKeys_WithCorrelationIdOnlyWhenSet()
    {
        var plain = await Publish("task_completed", "done");
        plain.EnumerateObject().Select(p => p.Name).Should().Equal("event_id", "event_type", "payload", "channel", "signal_level");
        plain.Str("signal_level").Should().Be("info");

        var threaded = await Publish("help_needed", "stuck", extra: new { correlation_id = "t-1" });
        threaded.Str("correlation_id").Should().Be("t-1");
        threaded.Str("signal_level").Should().Be("actionable");
        threaded.GetProperty("event_id").GetInt64().Should().BeGreaterThan(plain.GetProperty("event_id").GetInt64());
    }

    [Fact]
    public async Task PublishEvent_DirectMessage_IsActionable_AndTitleAndTagsRoundTrip()
    {
        var target = await Register("target");
        var dm = await Publish("note", "psst", channel: "session:" + target.Str("session_id"), extra: new { title = "Heads up", tags = new[] { "a", "b" } });
        dm.Str("signal_level").Should().Be("actionable");

        var read = await Events(new { channel = "session:" + target.Str("session_id") });
        var e = read.GetProperty("events")[0];
        e.EnumerateObject().Select(p => p.Name).Should().Equal(
            "id", "event_type", "payload", "session_id", "timestamp", "channel", "correlation_id", "signal_level", "title", "tags");
        e.Str("title").Should().Be("Heads up");
        e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Equal("a", "b");
        e.GetProperty("correlation_id").ValueKind.Should().Be(JsonValueKind.Null);
        e.Str("timestamp").Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$");
        e.Str("session_id").Should().Be(target.Str("session_id"), "a connection that registered publishes as that session by default");
    }

    [Fact]
    public async Task PublishEvent_AsADeletedSession_StoresTheEventAndFlagsIt()
    {
        var me = await Register("leaver");
        var id = me.Str("session_id");
        await _client.CallAsync("unregister_session", new { session_id = id });

        var reply = await Publish("note", "ghost message", sessionId: id);

        reply.GetProperty("session_deleted").GetBoolean().Should().BeTrue();
        reply.Str("session_id").Should().Be(id);
        reply.Str("display_id").Should().Be(me.Str("display_id"));
        reply.Str("deleted_at").Should().EndWith("Z");
        reply.Str("hint").Should().Contain("register_session");
        Payloads(await Latest()).Should().Equal("ghost message");
    }

    [Fact]
    public async Task GetEvents_NarrowedAndPeekReadsDoNotMoveTheCursor_MinLevelDoes()
    {
        var me = await Register("reader");
        var id = me.Str("session_id");
        await Publish("note", "chatter");
        await Publish("ci_failed", "red build", channel: "repo:eventbus", extra: new { correlation_id = "c1" });

        Payloads(await Events(new { session_id = id, resume = true, peek = true })).Should().HaveCount(2);
        Payloads(await Events(new { session_id = id, resume = true, channel = "repo:eventbus" })).Should().Equal("red build");
        Payloads(await Events(new { session_id = id, resume = true, event_types = new[] { "note" } })).Should().Equal("chatter");
        Payloads(await Events(new { session_id = id, resume = true, correlation_id = "c1" })).Should().Equal("red build");

        // Still unseen: min_level consumes (the quieter chatter counts as seen).
        Payloads(await Events(new { session_id = id, resume = true, min_level = "actionable" })).Should().Equal("red build");
        Payloads(await Events(new { session_id = id, resume = true })).Should().BeEmpty();
    }

    [Fact]
    public async Task GetEvents_WithoutCursor_ReturnsTheNewestDescOrTheOldestAsc()
    {
        for (var i = 1; i <= 5; i++)
        {
            await Publish("note", "e" + i);
        }

        var newest = await Events(new { limit = 2 });
        Payloads(newest).Should().Equal("e5", "e4");
        newest.GetProperty("has_more").GetBoolean().Should().BeTrue();
        Payloads(await Events(new { limit = 2, order = "asc" })).Should().Equal("e1", "e2");
        var afterCursor = await Events(new { cursor = "3", order = "asc" });
        Payloads(afterCursor).Should().Equal("e4", "e5");
        afterCursor.Str("next_cursor").Should().Be("5");
        afterCursor.GetProperty("has_more").GetBoolean().Should().BeFalse();
        (await Events(new { cursor = 3, limit = 1 })).Str("next_cursor").Should().Be("4", "a JSON integer cursor is accepted too");
    }

    [Fact]
    public async Task GetEvents_DeletedSession_ReturnsTheDeletedShape_UnknownSessionWithResumeIsNotFound()
    {
        var me = await Register("leaver");
        var id = me.Str("session_id");
        await _client.CallAsync("unregister_session", new { session_id = id });

        var deleted = await Events(new { session_id = id, resume = true });
        deleted.Str("error").Should().Be("Session deleted");
        deleted.GetProperty("session_deleted").GetBoolean().Should().BeTrue();
        deleted.Str("display_id").Should().Be(me.Str("display_id"));
        deleted.Str("hint").Should().NotBeEmpty();

        var unknown = await Events(new { session_id = "nope", resume = true });
        unknown.Str("error").Should().Be("Session not found");
        unknown.Str("session_id").Should().Be("nope");

        // Without resume an unknown id is just a reader (external ids are allowed); nothing is saved for it.
        (await Events(new { session_id = "nope" })).GetProperty("events").GetArrayLength().Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task AckEvents_SavesTheCursor_AndRefusesBadOnesWithTheSavedCursor()
    {
        var me = await Register("acker");
        var id = me.Str("session_id");
        var start = me.Str("cursor");
        await Publish("note", "a");
        var tip = (await Publish("note", "b")).GetProperty("event_id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var ok = await _client.CallAsync("ack_events", new { session_id = id, cursor = tip });
        ok.EnumerateObject().Select(p => p.Name).Should().Equal("success", "session_id", "cursor", "previous_cursor");
        ok.Str("cursor").Should().Be(tip);
        ok.Str("previous_cursor").Should().Be(start);

        var notInt = await _client.CallAsync("ack_events", new { session_id = id, cursor = "x1" });
        notInt.Str("error").Should().Contain("decimal string");
        notInt.Str("cursor").Should().Be(tip);
        (await _client.CallAsync("ack_events", new { session_id = id, cursor = "-1" })).Str("error").Should().Contain("negative");
        var ahead = await _client.CallAsync("ack_events", new { session_id = id, cursor = "999999" });
        ahead.Str("error").Should().Contain("ahead of the newest event");
        ahead.Str("tip").Should().Be(tip);
        var back = await _client.CallAsync("ack_events", new { session_id = id, cursor = start });
        back.Str("error").Should().Contain("allow_rewind");
        back.Str("cursor").Should().Be(tip);

        var rewound = await _client.CallAsync("ack_events", new { session_id = id, cursor = start, allow_rewind = true });
        rewound.GetProperty("success").GetBoolean().Should().BeTrue();
        Payloads(await Events(new { session_id = id, resume = true, order = "asc" })).Should().Equal("a", "b");
        (await _client.CallAsync("ack_events", new { session_id = "nobody", cursor = "1" })).Str("error").Should().Be("Session not found");
    }

    [Fact]
    public async Task UnregisterSession_AnnouncesTheDeparture_AndRefusesWhatItCannotDo()
    {
        var me = await Register("worker", clientId: "cc-9");
        var reply = await _client.CallAsync("unregister_session", new { client_id = "cc-9" });
        reply.EnumerateObject().Select(p => p.Name).Should().Equal("success", "session_id", "display_id", "active_sessions");
        reply.Str("session_id").Should().Be(me.Str("session_id"));
        reply.GetProperty("active_sessions").GetInt32().Should().Be(0);

        var farewell = (await Latest()).GetProperty("events")[0];
        farewell.Str("event_type").Should().Be("session_unregistered");
        farewell.Str("payload").Should().Be("worker ended on laptop");

        (await _observer.CallAsync("unregister_session")).Str("error").Should().Be("Must provide either session_id or client_id");
        (await _client.CallAsync("unregister_session")).Str("error").Should().Be("Session deleted", "this connection is bound to the session it unregistered");
        (await _client.CallAsync("unregister_session", new { session_id = "nope" })).Str("error").Should().Be("Session not found");
        (await _client.CallAsync("unregister_session", new { session_id = me.Str("session_id") })).Str("error").Should().Be("Session deleted");
    }

    [Fact]
    public async Task ListSessionsAndChannels_ShowLiveSessionsWithTheirImpliedSubscriptions()
    {
        var a = await Register("a", machine: "m1", cwd: "/src/alpha");
        var b = await Register("b", machine: "m1", cwd: "/src/beta");
        var c = await Register("c", machine: "m2", cwd: "/src/alpha");
        await _client.CallAsync("unregister_session", new { session_id = c.Str("session_id") });
        await Publish("note", "b is active", sessionId: b.Str("session_id"));

        var sessions = await _client.CallAsync("list_sessions");
        sessions.EnumerateArray().Select(s => s.Str("name")).Should().Equal("b", "a");
        sessions[0].EnumerateObject().Select(p => p.Name).Should().Equal(
            "session_id", "display_id", "name", "machine", "repo", "cwd", "client_id", "registered_at", "last_heartbeat",
            "age_seconds", "subscribed_channels");
        sessions[1].GetProperty("subscribed_channels").EnumerateArray().Select(x => x.GetString())
            .Should().Equal("all", "session:" + a.Str("session_id"), "repo:alpha", "machine:m1");

        var channels = await _client.CallAsync("list_channels");
        channels.EnumerateArray().Select(x => $"{x.Str("channel")}={x.GetProperty("subscribers").GetInt32()}").Should().Equal(
            new[] { "all=2", "machine:m1=2", "repo:alpha=1", "repo:beta=1", "session:" + a.Str("session_id") + "=1", "session:" + b.Str("session_id") + "=1" }
                .OrderBy(s => s[..s.IndexOf('=', StringComparison.Ordinal)], StringComparer.Ordinal));
    }

    [Fact]
    public async Task Notify_EchoesTitleAndMessage_AndSaysWhetherItWasShown()
    {
        var reply = await _client.CallAsync("notify", new { title = "Build", message = "green" });
        reply.EnumerateObject().Select(p => p.Name).Should().Equal("success", "title", "message");
        reply.Str("title").Should().Be("Build");
        reply.Str("message").Should().Be("green");
        reply.GetProperty("success").ValueKind.Should().BeOneOf(JsonValueKind.True, JsonValueKind.False);
    }
}
