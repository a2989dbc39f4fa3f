using System.Net;
using System.Text.Json;
using EventBus.Server.Mcp;
using EventBus.Server.Mcp.Conformance;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.McpResume;

/// <summary>
/// SEP-1699 SSE polling over raw HTTP: the server ends a POST stream before its answer (the conformance fixture
/// <c>test_reconnection</c> asks it to), keeps the answer for the session, and a GET with the POST stream's id as
/// <c>Last-Event-ID</c> gets it.
/// </summary>
public sealed class PostStreamResumeTests : IAsyncLifetime
{
    private const string Fixtures = "--EventBus:Mcp:ConformanceFixtures=true";

    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync(manualTime: true, Fixtures);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task APostStreamTheServerEndsMidCall_IsResumedByAGetWithItsId_WhichGetsTheAnswer()
    {
        var session = await _host.InitializeAsync();
        var streamId = await CallFixtureAsync(session, "{}");

        using var get = await SseFrames.GetAsync(_host, session, streamId);
        get.StatusCode.Should().Be(HttpStatusCode.OK);
        get.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        get.Headers.GetValues("Mcp-Session-Id").Single().Should().Be(session);
        var frames = await (await SseFrames.OfAsync(get)).ToEndAsync();

        frames[0].Should().Be(new SseFrame(streamId, "2000", ""), "the resumed stream opens with its priming event again");
        var answer = frames.Single(f => !string.IsNullOrEmpty(f.Data)).Json;
        answer.GetProperty("id").GetInt32().Should().Be(1);
        var result = answer.GetProperty("result");
        result.TryGetProperty("isError", out _).Should().BeFalse();
        result.GetProperty("content")[0].GetProperty("text").GetString().Should().Contain(TestReconnectionTool.Answer);

        var open = Session(session);
        open.Pending.Count.Should().Be(0, "a delivered answer is not kept");
        open.Stream.Should().BeNull("the resumed stream was never the session's GET stream");
    }

    [Fact]
    public async Task AGetThatResumesBeforeTheAnswerIsReady_WaitsForIt()
    {
        var session = await _host.InitializeAsync();
        // This call answers only once a GET has resumed its stream: the GET always comes first.
        var streamId = await CallFixtureAsync(session, """{"wait_for_resume":true}""");
        Session(session).Pending.Find(streamId)!.Answer.IsCompleted.Should().BeFalse();

        using var get = await SseFrames.GetAsync(_host, session, streamId);
        var answer = await (await SseFrames.OfAsync(get)).NextDataAsync();

        answer.GetProperty("id").GetInt32().Should().Be(1);
        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Contain(TestReconnectionTool.Answer);
    }

    [Fact]
    public async Task AnUnknownPostStreamId_OpensTheSessionsGetStream_AsBefore()
    {
        var session = await _host.InitializeAsync();

        using var get = await SseFrames.GetAsync(_host, session, "post-987654321");

        get.StatusCode.Should().Be(HttpStatusCode.OK);
        await StreamAttachedAsync(session);
        using var second = await SseFrames.GetAsync(_host, session, "post-987654321");
        second.StatusCode.Should().Be(HttpStatusCode.Conflict, "it was the session's GET stream, which is open");
    }

    [Fact]
    public async Task AnExpiredAnswer_IsDropped_AndItsIdOpensTheSessionsGetStream_AsBefore()
    {
        var session = await _host.InitializeAsync();
        var streamId = await CallFixtureAsync(session, "{}");
        var pending = Session(session).Pending;
        await Waiting.UntilAsync(pending.Changed, () => pending.Find(streamId)!.Answer.IsCompleted);

        _host.Time!.Advance(new McpHttpOptions().PendingResponseExpiry + TimeSpan.FromSeconds(1));
        using var get = await SseFrames.GetAsync(_host, session, streamId);

        get.StatusCode.Should().Be(HttpStatusCode.OK);
        await StreamAttachedAsync(session);
        pending.Count.Should().Be(0);
    }

    [Fact]
    public async Task ACallWhoseAnswerExpires_IsCancelled_AndDropped()
    {
        var session = await _host.InitializeAsync();
        var streamId = await CallFixtureAsync(session, """{"wait_for_resume":true}""");
        var pending = Session(session).Pending;
        var entry = pending.Find(streamId)!;

        _host.Time!.Advance(new McpHttpOptions().PendingResponseExpiry + TimeSpan.FromSeconds(1));
        await _host.Service<McpSessionStore>().PruneIdleAsync();

        entry.Abandoned.IsCancellationRequested.Should().BeTrue("the call waiting for a resume is cancelled");
        await Waiting.ForAsync(entry.Answer.ContinueWith(t => t.IsCanceled.Should().BeTrue(), TaskScheduler.Default));
        pending.Count.Should().Be(0);
    }

    [Fact]
    public async Task TheSessionsOwnGetStream_KeepsDeliveringItsEvents_WhileAPostStreamIsResumedBesideIt()
    {
        var session = await _host.InitializeAsync();
        var me = await RegisterAsync(session);
        using var stream = await SseFrames.GetAsync(_host, session);
        var pushes = await SseFrames.OfAsync(stream);
        var attached = await StreamAttachedAsync(session);

        var streamId = await CallFixtureAsync(session, "{}");
        using var get = await SseFrames.GetAsync(_host, session, streamId);
        get.StatusCode.Should().Be(HttpStatusCode.OK, "a resumed POST stream is not the session's GET stream: no 409");
        var answer = await (await SseFrames.OfAsync(get)).NextDataAsync();
        answer.GetProperty("id").GetInt32().Should().Be(1);

        var eventId = await PublishAsync("session:" + me, "after the resume");
        var push = await pushes.NextAsync();
        push!.Id.Should().Be(eventId.ToString(System.Globalization.CultureInfo.InvariantCulture), "pushes keep their event ids");
        push.Json.GetProperty("method").GetString().Should().Be("notifications/claude/channel");
        push.Json.GetProperty("params").GetProperty("content").GetString().Should().EndWith("after the resume");
        Session(session).Stream.Should().BeSameAs(attached);
    }

    [Fact]
    public async Task EveryPostStreamOfASession_HasItsOwnPrimingId()
    {
        var session = await _host.InitializeAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await _host.PostAsync("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_sessions"}}""", session);
            var frames = await (await SseFrames.OfAsync(response)).ToEndAsync();
            ids.Add(frames[0].Id!);
        }

        ids.Should().OnlyHaveUniqueItems().And.AllSatisfy(id => id.Should().StartWith(McpSse.PostStreamPrefix));
    }

    [Fact]
    public async Task TheFixture_CalledWithoutASession_IsAToolErrorSayingSo()
    {
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_reconnection"}}""");

        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result");
        result.GetProperty("isError").GetBoolean().Should().BeTrue();
        result.GetProperty("content")[0].GetProperty("text").GetString().Should().Contain("needs an MCP session");
    }

    [Fact]
    public async Task TheFixture_IsListed_WhenConfigured()
    {
        var session = await _host.InitializeAsync();
        (await ToolNamesAsync(_host, session)).Should().Contain(TestReconnectionTool.Name);
    }

    [Fact]
    public async Task TheFixture_IsNeitherListedNorCallable_UnlessConfigured()
    {
        await using var plain = await BusHost.StartAsync();
        var session = await plain.InitializeAsync();

        (await ToolNamesAsync(plain, session)).Should().NotContain(TestReconnectionTool.Name).And.Contain("publish_event");
        using var call = await plain.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_reconnection","arguments":{}}}""", session);
        (await BusHost.FirstDataAsync(call)).GetProperty("error").GetProperty("message").GetString().Should().Contain("Unknown tool");
    }

    [Fact]
    public async Task PastTheSessionsLimitOfPendingAnswers_AStreamIsNotEndedEarly()
    {
        await using var host = await BusHost.StartAsync(manualTime: true, Fixtures, "--EventBus:Mcp:PendingResponseLimit=1");
        var session = await host.InitializeAsync();
        await CallFixtureAsync(session, """{"wait_for_resume":true}""", host);

        using var second = await host.PostAsync(
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_reconnection","arguments":{}}}""", session);
        var result = (await BusHost.FirstDataAsync(second)).GetProperty("result");
        result.GetProperty("isError").GetBoolean().Should().BeTrue();
        result.GetProperty("content")[0].GetProperty("text").GetString().Should().Contain("PendingResponseLimit");
    }

    /// <summary>Calls the fixture; its POST stream must end with the priming event alone. Returns the stream's id.</summary>
    private async Task<string> CallFixtureAsync(string session, string arguments, BusHost? host = null)
    {
        host ??= _host;
        using var response = await host.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_reconnection","arguments":ARGS}}""".Replace("ARGS", arguments, StringComparison.Ordinal),
            session);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        var frames = await (await SseFrames.OfAsync(response)).ToEndAsync();

        frames.Should().ContainSingle("the server ends the stream after its priming event, before the answer");
        frames[0].Data.Should().BeEmpty();
        frames[0].Retry.Should().Be("2000");
        frames[0].Id.Should().StartWith(McpSse.PostStreamPrefix);
        return frames[0].Id!;
    }

    private McpHttpSession Session(string id)
    {
        _host.Service<McpSessionStore>().TryGet(id, out var session).Should().BeTrue();
        return session;
    }

    private async Task<SessionEventStream> StreamAttachedAsync(string id)
    {
        var session = Session(id);
        await Waiting.UntilAsync(session.StreamChanged, () => session.Stream is not null);
        return session.Stream!;
    }

    private async Task<string> RegisterAsync(string session)
    {
        using var response = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"register_session","arguments":{"name":"resumer","machine":"m"}}}""", session);
        return (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("structuredContent").GetProperty("result")
            .GetProperty("session_id").GetString()!;
    }

    private async Task<long> PublishAsync(string channel, string payload)
    {
        var body = JsonSerializer.Serialize(new
        {
            jsonrpc = "2.0",
            id = 9,
            method = "tools/call",
            @params = new { name = "publish_event", arguments = new { event_type = "note", payload, channel, session_id = "anonymous" } },
        });
        using var response = await _host.PostAsync(body);
        return (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("structuredContent").GetProperty("result")
            .GetProperty("event_id").GetInt64();
    }

    private static async Task<List<string>> ToolNamesAsync(BusHost host, string session)
    {
        using var response = await host.PostAsync("""{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{}}""", session);
        var tools = (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("tools");
        return [.. tools.EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
    }
}
