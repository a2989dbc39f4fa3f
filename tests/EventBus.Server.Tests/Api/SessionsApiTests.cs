using System.Net;
using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Api;

/// <summary>/api/v1/sessions (list, one, register over REST), the events read's from/correlation_id, and /api/v1/channels.</summary>
public sealed class SessionsApiTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Sessions_ListsLiveOnesWithUnreadAndSubscriptions_ThenRecentlyEndedOnes()
    {
        var ada = await _host.ConnectAsync();
        var bob = await _host.ConnectAsync();
        var a = await ada.CallAsync("register_session", new { name = "ada", machine = "m1", cwd = "/src/eventbus", client_id = "ada-1" });
        var b = await bob.CallAsync("register_session", new { name = "bob", machine = "m1" });
        await ada.CallAsync("subscribe", new { session_id = a.Str("session_id"), channel = "alerts:#" });
        await _host.PublishAsync("note");
        await _host.PublishAsync("note");
        await bob.CallAsync("unregister_session", new { session_id = b.Str("session_id") });

        var list = await _host.GetJsonAsync("/api/v1/sessions");

        list.GetProperty("live").GetInt32().Should().Be(1);
        list.GetProperty("ended").GetInt32().Should().Be(1);
        var sessions = list.GetProperty("sessions").EnumerateArray().ToList();
        sessions.Select(s => s.Str("name")).Should().Equal("ada", "bob");
        var live = sessions[0];
        live.GetProperty("live").GetBoolean().Should().BeTrue();
        live.Str("repo").Should().Be("eventbus");
        live.Str("client_id").Should().Be("ada-1");
        // Registered at the tip; since then: bob's registration, two notes, bob's farewell.
        live.GetProperty("unread").GetInt32().Should().Be(4);
        live.GetProperty("unread_capped").GetBoolean().Should().BeFalse();
        live.GetProperty("subscriptions").EnumerateArray().Select(s => s.Str("channel"))
            .Should().Equal($"session:{a.Str("session_id")}", "alerts:#");
        var ended = sessions[1];
        ended.GetProperty("live").GetBoolean().Should().BeFalse();
        ended.Str("ended_at").Should().EndWith("Z");

        var liveOnly = await _host.GetJsonAsync("/api/v1/sessions?ended_within_minutes=0");
        liveOnly.GetProperty("sessions").GetArrayLength().Should().Be(1);
    }

    [Theory]
    [InlineData("ended_within_minutes=-1")]
    [InlineData("ended_within_minutes=soon")]
    [InlineData("ended_within_minutes=99999")]
    public async Task Sessions_WithABadEndedWithin_IsAProblemThatSaysWhatIsWrong(string query)
    {
        using var response = await _host.Http.GetAsync($"/api/v1/sessions?{query}", TestTimeouts.Token());

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain("ended_within_minutes must be");
    }

    [Fact]
    public async Task OneSession_IsReadBack_AndAnUnknownOneIs404()
    {
        using var created = await _host.PostApiAsync("/api/v1/sessions", """{"name":"dashboard:local","machine":"dashboard","client_id":"dashboard:local"}""");
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var id = (await ApiCalls.JsonAsync(created)).Str("session_id");

        var one = await _host.GetJsonAsync(created.Headers.Location!.ToString());
        one.Str("session_id").Should().Be(id);
        one.Str("name").Should().Be("dashboard:local");

        using var missing = await _host.Http.GetAsync("/api/v1/sessions/nope", TestTimeouts.Token());
        (await ApiCalls.ProblemDetailAsync(missing, HttpStatusCode.NotFound)).Should().Contain("nope");
    }

    [Fact]
    public async Task RegisterOverRest_ResumesTheSameClient_AndPublishesAsIt()
    {
        const string body = """{"name":"dashboard:local","machine":"dashboard","client_id":"dashboard:local"}""";
        using var first = await _host.PostApiAsync("/api/v1/sessions", body);
        using var second = await _host.PostApiAsync("/api/v1/sessions", body);
        var one = await ApiCalls.JsonAsync(first);
        var two = await ApiCalls.JsonAsync(second);
        two.Str("session_id").Should().Be(one.Str("session_id"));
        two.GetProperty("resumed").GetBoolean().Should().BeTrue();

        using var published = await _host.PostApiAsync("/api/v1/events",
            JsonSerializer.Serialize(new { event_type = "message", payload = "hi", session_id = one.Str("session_id") }));
        published.StatusCode.Should().Be(HttpStatusCode.Created);
        var mine = await _host.GetJsonAsync($"/api/v1/events?from={one.Str("session_id")}");
        // Newest first: its message, then its registration; nothing published by anyone else.
        mine.GetProperty("events").EnumerateArray().Select(e => e.Str("event_type")).Should().Equal("message", "session_registered");
    }

    [Theory]
    [InlineData("""{"machine":"m"}""", "name is required")]
    [InlineData("""{"name":5}""", "name must be a string")]
    [InlineData("""{"name":"x","colour":"red"}""", "unknown field \"colour\"")]
    [InlineData("""["x"]""", "expected a JSON object")]
    [InlineData("""{"name":""}""", "name")]
    public async Task RegisterOverRest_WithBadInput_IsAProblemThatSaysWhatIsWrong(string body, string expected)
    {
        using var response = await _host.PostApiAsync("/api/v1/sessions", body);

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain(expected);
    }

    [Fact]
    public async Task RegisterOverRest_UnderTokens_NeedsPublish_AndTheSessionIsTheTokensOwn()
    {
        var read = await _host.CreateTokenAsync("watcher", TokenScope.Read);
        var alice = await _host.CreateTokenAsync("alice", TokenScope.Publish);
        var bob = await _host.CreateTokenAsync("bob", TokenScope.Publish);
        using var readHttp = _host.Api(read);
        using var aliceHttp = _host.Api(alice);
        using var bobHttp = _host.Api(bob);

        using var refused = await readHttp.PostAsync("/api/v1/sessions", TokenClients.Json("""{"name":"dashboard:watcher"}"""), TestTimeouts.Token());
        (await ApiCalls.ProblemDetailAsync(refused, HttpStatusCode.Forbidden)).Should().Contain("publish scope");

        using var registered = await aliceHttp.PostAsync(
            "/api/v1/sessions", TokenClients.Json("""{"name":"dashboard:alice","client_id":"dashboard:alice"}"""), TestTimeouts.Token());
        registered.StatusCode.Should().Be(HttpStatusCode.Created);
        var id = (await ApiCalls.JsonAsync(registered)).Str("session_id");

        using var impersonated = await bobHttp.PostAsync("/api/v1/events",
            TokenClients.Json(JsonSerializer.Serialize(new { event_type = "message", payload = "as alice", session_id = id })), TestTimeouts.Token());
        (await ApiCalls.ProblemDetailAsync(impersonated, HttpStatusCode.Forbidden)).Should().Contain("belongs to another token");

        using var listed = await bobHttp.GetAsync("/api/v1/sessions", TestTimeouts.Token());
        var session = (await ApiCalls.JsonAsync(listed)).GetProperty("sessions").EnumerateArray().Single(s => s.Str("session_id") == id);
        session.TryGetProperty("client_id", out _).Should().BeFalse("another token's client_id is not shown");
    }

    [Fact]
    public async Task Events_FromASession_LeaveOutTheDirectMessagesTheCallerMayNotRead()
    {
        var alice = await _host.CreateTokenAsync("alice", TokenScope.Publish);
        var bob = await _host.CreateTokenAsync("bob", TokenScope.Publish);
        var eve = await _host.CreateTokenAsync("eve", TokenScope.Read);
        using var aliceHttp = _host.Api(alice);
        using var bobHttp = _host.Api(bob);
        using var eveHttp = _host.Api(eve);
        var a = await RegisterAsync(aliceHttp, "alice-task");
        var b = await RegisterAsync(bobHttp, "bob-task");
        foreach (var (channel, payload) in new[] { ($"session:{b}", "private to bob"), ("all", "hello everyone") })
        {
            using var sent = await aliceHttp.PostAsync("/api/v1/events",
                TokenClients.Json(JsonSerializer.Serialize(new { event_type = "message", payload, channel, session_id = a })), TestTimeouts.Token());
            sent.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        async Task<List<string>> PayloadsFromAlice(HttpClient http) =>
            (await ApiCalls.JsonAsync(await http.GetAsync($"/api/v1/events?from={a}", TestTimeouts.Token())))
            .GetProperty("events").EnumerateArray().Where(e => e.Str("event_type") == "message").Select(e => e.Str("payload")).ToList();

        (await PayloadsFromAlice(eveHttp)).Should().Equal("hello everyone");
        (await PayloadsFromAlice(bobHttp)).Should().Equal("hello everyone", "private to bob");
        (await PayloadsFromAlice(aliceHttp)).Should().Equal("hello everyone", "private to bob");
    }

    private static async Task<string> RegisterAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsync("/api/v1/sessions", TokenClients.Json(JsonSerializer.Serialize(new { name })), TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return (await ApiCalls.JsonAsync(response)).Str("session_id");
    }

    [Fact]
    public async Task Events_ByCorrelationId_ReadAThread()
    {
        foreach (var (payload, thread) in new[] { ("question", "t-1"), ("other", "t-2"), ("answer", "t-1") })
        {
            using var r = await _host.PostApiAsync("/api/v1/events",
                JsonSerializer.Serialize(new { event_type = "message", payload, correlation_id = thread }));
            r.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        var page = await _host.GetJsonAsync("/api/v1/events?correlation_id=t-1&cursor=0&order=asc");

        page.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).Should().Equal("question", "answer");
    }

    [Fact]
    public async Task Channels_CountSubscribersAndRecentEvents()
    {
        var client = await _host.ConnectAsync();
        await client.CallAsync("register_session", new { name = "ada", machine = "m1", cwd = "/src/eventbus" });
        await _host.PublishAsync("ci_failed", "repo:eventbus");
        await _host.PublishAsync("ci_failed", "repo:eventbus");
        await _host.PublishAsync("disk_full", "alerts:disk");

        var channels = (await _host.GetJsonAsync("/api/v1/channels")).GetProperty("channels").EnumerateArray()
            .ToDictionary(c => c.Str("channel"));

        channels.Keys.Should().Contain(["all", "repo:eventbus", "machine:m1", "alerts:disk"]);
        channels["repo:eventbus"].GetProperty("subscribers").GetInt32().Should().Be(1);
        channels["repo:eventbus"].GetProperty("recent_events").GetInt32().Should().Be(2);
        channels["alerts:disk"].GetProperty("subscribers").GetInt32().Should().Be(0);
        channels["alerts:disk"].GetProperty("recent_events").GetInt32().Should().Be(1);
        channels["alerts:disk"].Str("last_event_at").Should().EndWith("Z");
        channels["machine:m1"].GetProperty("recent_events").GetInt32().Should().Be(0);
    }
}
