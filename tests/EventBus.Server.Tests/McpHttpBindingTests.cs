using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Server.Mcp;
using EventBus.Server.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace EventBus.Server.Tests;

/// <summary>The /mcp Streamable HTTP binding, driven with raw HTTP so every status and header is visible.</summary>
public sealed class McpHttpBindingTests : IAsyncLifetime
{
    private const string ToolsCall =
        """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"publish_event","arguments":{"event_type":"cli","payload":"from the old cli"}}}""";

    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync(manualTime: true);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task BareToolsCall_WithoutInitializeOrSession_IsServedStatelessly_LikeTheOldCli()
    {
        using var response = await _host.PostAsync(ToolsCall);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        response.Headers.Contains("Mcp-Session-Id").Should().BeFalse();
        var message = await BusHost.FirstDataAsync(response);
        message.GetProperty("id").GetInt32().Should().Be(7);
        var result = message.GetProperty("result");
        var structured = result.GetProperty("structuredContent").GetProperty("result");
        structured.GetProperty("payload").GetString().Should().Be("from the old cli");
        var text = JsonDocument.Parse(result.GetProperty("content")[0].GetProperty("text").GetString()!).RootElement;
        text.GetProperty("event_id").GetInt64().Should().Be(structured.GetProperty("event_id").GetInt64());
        _host.Service<McpSessionStore>().Count.Should().Be(0, "a stateless call leaves no session behind");
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope","arguments":{}}}""", "Unknown tool: 'nope'")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call"}""", "tools/call needs params.name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}""", "'name'")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_sessions","arguments":[1]}}""", "Invalid params for tools/call")]
    public async Task ToolsCall_WithBadParams_IsAnInvalidParamsErrorThatSaysWhatIsWrong(string body, string message)
    {
        using var response = await _host.PostAsync(body);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var error = (await BusHost.FirstDataAsync(response)).GetProperty("error");
        error.GetProperty("code").GetInt32().Should().Be(-32602);
        error.GetProperty("message").GetString().Should().Contain(message);
    }

    [Fact]
    public async Task ToolsCall_OnASession_KeepsTheRequestIdAndSessionHeader_AndIsOneSizedSseMessage()
    {
        var session = await _host.InitializeAsync();
        using var response = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"list_sessions","_meta":{"progressToken":5}}}""", session);
        response.Headers.GetValues("Mcp-Session-Id").Single().Should().Be(session);
        response.Content.Headers.ContentLength.Should().BePositive();
        var message = await BusHost.FirstDataAsync(response);
        message.GetProperty("id").GetString().Should().Be("call-1");
        message.GetProperty("jsonrpc").GetString().Should().Be("2.0");
        message.GetProperty("result").GetProperty("structuredContent").GetProperty("result").ValueKind.Should().Be(JsonValueKind.Array);
    }

    [Fact]
    public async Task Initialize_OpensASession_WithInstructionsAndTheToolsCapability()
    {
        using var response = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("Mcp-Session-Id").Single().Should().NotBeNullOrWhiteSpace();
        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result");
        result.GetProperty("protocolVersion").GetString().Should().Be("2025-11-25");
        result.GetProperty("serverInfo").GetProperty("name").GetString().Should().Be("eventbus");
        result.GetProperty("capabilities").TryGetProperty("tools", out _).Should().BeTrue();
        result.GetProperty("instructions").GetString().Should().Contain("register_session");
    }

    [Fact]
    public async Task CSharpSdkClient_ProbesServerDiscover_ThenNegotiates20251125()
    {
        await using var client = await _host.ConnectAsync();
        client.NegotiatedProtocolVersion.Should().Be("2025-11-25");
    }

    [Fact]
    public async Task ServerDiscover_GetsAMethodNotFoundError()
    {
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","id":"d1","method":"server/discover","params":{}}""",
            adjust: r => r.Headers.Add("MCP-Protocol-Version", "2026-07-28"));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        body.GetProperty("id").GetString().Should().Be("d1");
        body.GetProperty("error").GetProperty("code").GetInt32().Should().Be(-32601);
    }

    [Fact]
    public async Task Notification_IsAccepted_With202AndNoBody()
    {
        var session = await _host.InitializeAsync();
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}""", session);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        response.Content.Headers.ContentType.Should().BeNull();
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task UnknownSession_Is404_WithAJsonRpcError()
    {
        using var response = await _host.PostAsync(ToolsCall, sessionId: "no-such-session");
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        body.GetProperty("error").GetProperty("message").GetString().Should().Contain("Session not found");
    }

    [Fact]
    public async Task WrongAccept_Is406()
    {
        using var post = await _host.PostAsync(ToolsCall, adjust: r =>
        {
            r.Headers.Accept.Clear();
            r.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        });
        post.StatusCode.Should().Be(HttpStatusCode.NotAcceptable);

        var session = await _host.InitializeAsync();
        using var get = new HttpRequestMessage(HttpMethod.Get, _host.McpUri);
        get.Headers.Add("Mcp-Session-Id", session);
        get.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var getResponse = await _host.Http.SendAsync(get);
        getResponse.StatusCode.Should().Be(HttpStatusCode.NotAcceptable);
    }

    [Theory]
    [InlineData("Origin", "https://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://localhost:6274", HttpStatusCode.OK)]
    [InlineData("Origin", "http://127.0.0.1:3000", HttpStatusCode.OK)]
    [InlineData("Origin", "http://[::1]:3000", HttpStatusCode.OK)]
    [InlineData("Origin", "HTTP://LOCALHOST", HttpStatusCode.OK)]
    [InlineData("Origin", "http://evil.example@127.0.0.1", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://user:pw@localhost:6274", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1:3000/path", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1:3000/", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1?x=1", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1#f", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "ftp://127.0.0.1", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "file://localhost", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1:99999", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1:", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://localhost.evil.example", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://127.0.0.1.nip.io", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "null", HttpStatusCode.Forbidden)]
    [InlineData("Origin", "http://0x7f.1", HttpStatusCode.Forbidden)]
    [InlineData("Host", "evil.example", HttpStatusCode.Forbidden)]
    [InlineData("Host", "rebind.attacker.test:8080", HttpStatusCode.Forbidden)]
    [InlineData("Host", "localhost:8080", HttpStatusCode.OK)]
    public async Task ForeignOriginOrHost_Is403_LoopbackIsServed(string header, string value, HttpStatusCode expected)
    {
        using var response = await _host.PostAsync(ToolsCall, adjust: r =>
        {
            if (header == "Host")
            {
                r.Headers.Host = value;
            }
            else
            {
                r.Headers.Add(header, value);
            }
        });
        response.StatusCode.Should().Be(expected);
    }

    [Fact]
    public async Task UnsupportedProtocolVersion_Is400()
    {
        using var response = await _host.PostAsync(ToolsCall, adjust: r => r.Headers.Add("MCP-Protocol-Version", "1999-01-01"));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("unsupported MCP-Protocol-Version");
    }

    [Theory]
    [InlineData("{not json", -32700, "Parse error")]
    [InlineData("", -32700, "Parse error")]
    [InlineData("""{"hello":"world"}""", -32600, "not a JSON-RPC 2.0 message")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"ping"}]""", -32600, "batches are not supported")]
    public async Task BodyThatIsNotOneJsonRpcMessage_Is400_AndTheServerKeepsServing(string body, int code, string message)
    {
        using var response = await _host.PostAsync(body);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        error.GetProperty("code").GetInt32().Should().Be(code);
        error.GetProperty("message").GetString().Should().Contain(message);

        using var after = await _host.PostAsync(ToolsCall);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task BodyOverTheServerLimit_Is413_BeforeItIsSent_AndTheServerKeepsServing()
    {
        var huge = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"publish_event","arguments":{"event_type":"x","payload":"""
            + "\"" + new string('a', 2 * 1024 * 1024) + "\"}}}";

        // Expect: 100-continue lets the server refuse on Content-Length alone, so the client never sends the body
        // (sending it into a connection the server is closing would race the 413 against a TCP reset).
        using var response = await _host.PostAsync(huge, adjust: r => r.Headers.ExpectContinue = true);
        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await response.Content.ReadAsStringAsync()).Should().Contain("exceeds 1048576 bytes");

        using var after = await _host.PostAsync(ToolsCall);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimit_IsAnswered413_WhenReadingHitsTheLimit()
    {
        // Without Content-Length the limit is only known while reading; Kestrel's reader throws a 413 there.
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Body = new LimitExceededStream(1024);
        context.Response.Body = new MemoryStream();

        var message = await McpRequestBody.ReadAsync(context);

        message.Should().BeNull();
        context.Response.StatusCode.Should().Be(StatusCodes.Status413PayloadTooLarge);
        context.Response.Body.Position = 0;
        var body = JsonDocument.Parse(context.Response.Body).RootElement;
        body.GetProperty("error").GetProperty("message").GetString().Should().Contain("Payload Too Large");
    }

    [Fact]
    public async Task GetStream_NeedsASession_AndSendsKeepAliveCommentsWhenIdle()
    {
        using var noSession = new HttpRequestMessage(HttpMethod.Get, _host.McpUri);
        noSession.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        (await _host.Http.SendAsync(noSession)).StatusCode.Should().Be(HttpStatusCode.BadRequest);

        var session = await _host.InitializeAsync();
        using var response = await OpenStreamAsync(session);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        response.Headers.CacheControl!.NoCache.Should().BeTrue();

        var text = await ReadUntilAsync(response, ": keepalive\n\n", () => _host.Time!.Advance(TimeSpan.FromSeconds(15)));
        text.Should().StartWith(": keepalive\n\n");
    }

    [Fact]
    public async Task GetStream_ASecondOneIs409_AndAfterADropTheSessionReopensIt()
    {
        var session = await _host.InitializeAsync();
        var first = await OpenStreamAsync(session);
        first.StatusCode.Should().Be(HttpStatusCode.OK);

        using (var second = await OpenStreamAsync(session))
        {
            second.StatusCode.Should().Be(HttpStatusCode.Conflict);
        }

        first.Dispose(); // the client drops its stream; the session lives on
        _host.Service<McpSessionStore>().TryGet(session, out var open).Should().BeTrue();
        await Waiting.UntilAsync(open.StreamChanged, () => open.Stream is null);
        using (var reopened = await OpenStreamAsync(session))
        {
            reopened.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var call = await _host.PostAsync(ToolsCall, session);
        call.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Delete_ClosesTheSession_ThenItIs404()
    {
        var session = await _host.InitializeAsync();
        using var delete = new HttpRequestMessage(HttpMethod.Delete, _host.McpUri);
        delete.Headers.Add("Mcp-Session-Id", session);
        (await _host.Http.SendAsync(delete)).StatusCode.Should().Be(HttpStatusCode.OK);

        using var after = await _host.PostAsync(ToolsCall, session);
        after.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task IdleSessions_ArePruned_ButNotWhileTheirStreamIsOpen()
    {
        var idle = await _host.InitializeAsync();
        var streaming = await _host.InitializeAsync();
        using var stream = await OpenStreamAsync(streaming);

        // Moving the clock fires the pruner's own timer; the explicit pass makes the outcome deterministic.
        _host.Time!.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        await _host.Service<McpSessionStore>().PruneIdleAsync();
        _host.Service<McpSessionStore>().Count.Should().Be(1);

        using var gone = await _host.PostAsync(ToolsCall, idle);
        gone.StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var alive = await _host.PostAsync(ToolsCall, streaming);
        alive.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Shutdown_ClosesOpenStreamsPromptly()
    {
        var session = await _host.InitializeAsync();
        using var stream = await OpenStreamAsync(session);
        var body = await stream.Content.ReadAsStreamAsync();
        var read = body.ReadAsync(new byte[64]).AsTask();

        // Kestrel would wait 30 s for a stream that ignores shutdown; the test's timeout is shorter.
        await _host.App.StopAsync(TestTimeouts.Token()).WaitAsync(TestTimeouts.Default);
        var ended = await read.ContinueWith(t => t.IsFaulted || t.Result == 0, TaskScheduler.Default).WaitAsync(TestTimeouts.Default);
        ended.Should().BeTrue();
    }

    private async Task<HttpResponseMessage> OpenStreamAsync(string session)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _host.McpUri);
        request.Headers.Add("Mcp-Session-Id", session);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await _host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }

    /// <summary>Reads the stream until <paramref name="marker"/> appears, nudging (e.g. moving the clock) while waiting.</summary>
    private static async Task<string> ReadUntilAsync(HttpResponseMessage response, string marker, Action nudge)
    {
        var body = await response.Content.ReadAsStreamAsync();
        var text = new StringBuilder();
        var buffer = new byte[1024];
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (!text.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var read = body.ReadAsync(buffer, deadline.Token).AsTask();
            while (!read.IsCompleted)
            {
                nudge();
                await Task.WhenAny(read, Task.Run(() => read.Wait(100, deadline.Token), deadline.Token));
            }

            var count = await read;
            count.Should().BePositive("the stream ended before \"{0}\" arrived", marker);
            text.Append(Encoding.UTF8.GetString(buffer, 0, count));
        }

        return text.ToString();
    }

    /// <summary>A request body that fails the way Kestrel's does once the body limit is passed.</summary>
    private sealed class LimitExceededStream(int before) : Stream
    {
        private int _left = before;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left <= 0)
            {
                throw new Microsoft.AspNetCore.Http.BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            }

            var n = Math.Min(count, _left);
            Array.Fill(buffer, (byte)' ', offset, n);
            _left -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
