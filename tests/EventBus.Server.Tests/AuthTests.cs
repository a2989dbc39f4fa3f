using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Hosting;
using EventBus.Server.Security;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tests;

/// <summary>Tokens, scopes and identity (issue 6): every refusal checked for its status and its words.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task OnLoopbackWithoutTokens_EverythingWorksWithoutAHeader_AsBefore()
    {
        var client = await _host.ConnectAsync();
        (await client.CallAsync("publish_event", new { event_type = "t", payload = "p" })).GetProperty("event_id").GetInt64().Should().BePositive();
        (await _host.Http.GetAsync("/api/v1/events")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OnceATokenExists_MissingOrUnusableTokensGet401_WithWwwAuthenticate_InEachEndpointsFormat()
    {
        var good = await CreateTokenAsync("good", TokenScope.Publish);
        var revoked = await CreateTokenAsync("revoked", TokenScope.Publish);
        await _host.Service<ITokenStore>().RevokeTokenAsync("revoked", DateTimeOffset.UtcNow, TestTimeouts.Token());
        var expired = await CreateTokenAsync("expired", TokenScope.Publish, expires: DateTimeOffset.UtcNow.AddMinutes(-1));
        _host.Service<TokenAuthenticator>().Invalidate();

        using (var missing = await _host.PostAsync(Initialize))
        {
            missing.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            missing.Headers.WwwAuthenticate.ToString().Should().StartWith("Bearer realm=\"eventbus\"");
            var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            error.GetProperty("message").GetString().Should().StartWith("Unauthorized: this bus needs a token. Send \"Authorization: Bearer <token>\"");
        }

        foreach (var (secret, says) in new[] { ("ebt_nonsense", "not known to this bus"), (revoked, "\"revoked\" was revoked"), (expired, "\"expired\" expired at") })
        {
            using var response = await _host.PostAsync(Initialize, adjust: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret));
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            response.Headers.WwwAuthenticate.ToString().Should().Contain("error=\"invalid_token\"");
            JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message")
                .GetString().Should().Contain(says);
        }

        foreach (var path in new[] { "/api/v1/events", "/api/v1/stream" })
        {
            using var response = await _host.Http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, path);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await response.Content.ReadAsStringAsync()).Should().Contain("this bus needs a token");
        }

        (await _host.Http.GetAsync("/health")).StatusCode.Should().Be(HttpStatusCode.OK, "health stays open for monitors");
        var client = await _host.ConnectAsync(token: good);
        (await client.CallAsync("publish_event", new { event_type = "t", payload = "p" })).GetProperty("event_id").GetInt64().Should().BePositive();
    }

    [Fact]
    public async Task EachToolAndEndpoint_NeedsItsScope_AndARefusalSaysWhich()
    {
        var read = await ConnectAsync("reader", TokenScope.Read);
        var publish = await ConnectAsync("publisher", TokenScope.Publish);
        var admin = await ConnectAsync("admin", TokenScope.Admin);

        // read: reads and keeps its own session; cannot publish or manage webhooks.
        var session = (await read.Client.CallAsync("register_session", new { name = "dashboard", machine = "m" })).Str("session_id");
        await read.Client.CallAsync("get_events", new { session_id = session, resume = true });
        await read.Client.CallAsync("list_sessions");
        await read.Client.CallAsync("subscribe", new { channel = "alerts:#" });
        (await ForbiddenAsync(read.Client, "publish_event", new { event_type = "t", payload = "p" }))
            .Should().Be("Forbidden: publish_event needs a token with the publish scope; token \"reader\" (scope read) does not have it.");
        (await ForbiddenAsync(read.Client, "notify", new { title = "t", message = "m" })).Should().Contain("publish scope");
        (await ForbiddenAsync(read.Client, "register_webhook", new { url = "https://example.com/h" })).Should().Contain("admin scope");

        // publish: publishes; webhooks need admin.
        await publish.Client.CallAsync("publish_event", new { event_type = "t", payload = "p" });
        (await ForbiddenAsync(publish.Client, "list_webhooks", new { })).Should().Contain("needs a token with the admin scope; token \"publisher\" (scope publish)");

        // admin: everything.
        await admin.Client.CallAsync("list_webhooks");
        await admin.Client.CallAsync("publish_event", new { event_type = "t", payload = "p" });

        // REST: reading needs read, publishing needs publish.
        using var readApi = Api(read.Secret);
        (await readApi.GetAsync("/api/v1/events")).StatusCode.Should().Be(HttpStatusCode.OK);
        using var refused = await readApi.PostAsync("/api/v1/events", Json("""{"event_type":"t","payload":"p"}"""));
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()
            .Should().Be("Forbidden: publishing needs a token with the publish scope; token \"reader\" (scope read) may only read.");
        using var publishApi = Api(publish.Secret);
        (await publishApi.PostAsync("/api/v1/events", Json("""{"event_type":"t","payload":"p"}"""))).StatusCode.Should().Be(HttpStatusCode.Created);
        (await publishApi.PostAsync("/api/v1/events:batch", Json("""[{"event_type":"t","payload":"p"}]"""))).StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData(TokenScope.Read)]
    [InlineData(TokenScope.Publish)]
    [InlineData(TokenScope.Approve)]
    [InlineData(TokenScope.Admin)]
    public async Task EveryToolAndEndpoint_UnderEachScope_IsServedOrRefusedWith403(TokenScope scope)
    {
        var secret = await CreateTokenAsync("t-" + scope, scope);
        async Task<HttpStatusCode> CallAsync(string tool, string arguments)
        {
            using var response = await _host.PostAsync(
                $$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{arguments}}}}}""",
                adjust: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret));
            return response.StatusCode;
        }

        using var registered = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"register_session","arguments":{"name":"mine","machine":"m"}}}""",
            adjust: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret));
        var own = (await BusHost.FirstDataAsync(registered)).GetProperty("result").GetProperty("structuredContent").GetProperty("result").Str("session_id");

        // Written out here, not derived from the server's table: what each scope may call.
        var tools = new (string Tool, string Arguments, TokenScope Needs)[]
        {
            ("register_session", """{"name":"again","machine":"m"}""", TokenScope.Read),
            ("list_sessions", "{}", TokenScope.Read),
            ("list_channels", "{}", TokenScope.Read),
            ("get_events", $$"""{"session_id":"{{own}}","resume":true}""", TokenScope.Read),
            ("ack_events", $$"""{"session_id":"{{own}}","cursor":"1","allow_rewind":true}""", TokenScope.Read),
            ("subscribe", $$"""{"session_id":"{{own}}","channel":"alerts:#"}""", TokenScope.Read),
            ("list_subscriptions", $$"""{"session_id":"{{own}}"}""", TokenScope.Read),
            ("unsubscribe", $$"""{"session_id":"{{own}}","channel":"alerts:#"}""", TokenScope.Read),
            ("publish_event", """{"event_type":"t","payload":"p"}""", TokenScope.Publish),
            ("notify", """{"title":"t","message":"m"}""", TokenScope.Publish),
            ("register_webhook", """{"url":"https://example.invalid/hook"}""", TokenScope.Admin),
            ("list_webhooks", "{}", TokenScope.Admin),
            ("set_webhook_active", """{"webhook_id":"1","active":true}""", TokenScope.Admin),
            ("unregister_webhook", """{"webhook_id":"1"}""", TokenScope.Admin),
            ("list_deliveries", "{}", TokenScope.Admin),
            ("redeliver", """{"delivery_id":"msg_1"}""", TokenScope.Admin),
            ("answer_permission", """{"request_id":"none","behavior":"allow"}""", TokenScope.Approve),
            ("unregister_session", $$"""{"session_id":"{{own}}"}""", TokenScope.Read),
        };
        foreach (var (tool, arguments, needs) in tools)
        {
            (await CallAsync(tool, arguments)).Should().Be(TokenScopes.Includes(scope, needs) ? HttpStatusCode.OK : HttpStatusCode.Forbidden, $"{tool} with a {scope} token");
        }

        using var api = Api(secret);
        (await api.GetAsync("/api/v1/events")).StatusCode.Should().Be(HttpStatusCode.OK);
        using (var stream = await api.GetAsync("/api/v1/stream", HttpCompletionOption.ResponseHeadersRead))
        {
            stream.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var publishing = TokenScopes.Includes(scope, TokenScope.Publish) ? HttpStatusCode.Created : HttpStatusCode.Forbidden;
        (await api.PostAsync("/api/v1/events", Json("""{"event_type":"t","payload":"p"}"""))).StatusCode.Should().Be(publishing);
        (await api.PostAsync("/api/v1/events:batch", Json("""[{"event_type":"t","payload":"p"}]"""))).StatusCode.Should().Be(publishing);
    }

    [Fact]
    public async Task ASecondTokenCannotActAsAnotherTokensSession_EvenKnowingItsId()
    {
        var alice = await ConnectAsync("alice", TokenScope.Publish);
        var mallory = await ConnectAsync("mallory", TokenScope.Publish);
        var a = (await alice.Client.CallAsync("register_session", new { name = "alice", machine = "m", client_id = "alice-cc" })).Str("session_id");
        await mallory.Client.CallAsync("register_session", new { name = "mallory", machine = "m" });

        var refusal = $"Forbidden: session {a} belongs to another token; token \"mallory\" (scope publish) may act only as its own sessions.";
        (await mallory.Client.CallFailingAsync("publish_event", new { event_type = "t", payload = "fake", session_id = a })).Should().Be(refusal);
        (await mallory.Client.CallFailingAsync("get_events", new { session_id = a, resume = true })).Should().Be(refusal);
        (await mallory.Client.CallFailingAsync("ack_events", new { session_id = a, cursor = "1" })).Should().Be(refusal);
        (await mallory.Client.CallFailingAsync("subscribe", new { session_id = a, channel = "x" })).Should().Be(refusal);
        (await mallory.Client.CallFailingAsync("unregister_session", new { session_id = a })).Should().Be(refusal);
        (await mallory.Client.CallFailingAsync("register_session", new { name = "alice", machine = "m", client_id = "alice-cc" }))
            .Should().Be("register_session: Forbidden: client_id \"alice-cc\" on machine \"m\" is a session of another token.");

        // Nor read Alice's inbox resource; Alice can.
        var readInbox = () => mallory.Client.ReadResourceAsync(EventBus.Server.Mcp.InboxResource.UriFor(a), cancellationToken: TestTimeouts.Token()).AsTask();
        (await readInbox.Should().ThrowAsync<McpException>()).Which.Message.Should().Contain($"session {a} belongs to another token");
        (await alice.Client.ReadResourceAsync(EventBus.Server.Mcp.InboxResource.UriFor(a), cancellationToken: TestTimeouts.Token())).Contents.Should().ContainSingle();

        // Over REST too, and Alice's own calls still work; an admin may act as anyone.
        using var malloryApi = Api(mallory.Secret);
        using var impersonated = await malloryApi.PostAsync("/api/v1/events", Json($$"""{"event_type":"t","payload":"p","session_id":"{{a}}"}"""));
        impersonated.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await impersonated.Content.ReadAsStringAsync()).Should().Contain($"session {a} belongs to another token");
        await alice.Client.CallAsync("publish_event", new { event_type = "t", payload = "mine", session_id = a });
        var admin = await ConnectAsync("root", TokenScope.Admin);
        await admin.Client.CallAsync("get_events", new { session_id = a, peek = true });

        // Nor can it use Alice's MCP session id with its own token.
        using var hijack = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":9,"method":"tools/list"}""", alice.Client.SessionId,
            r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", mallory.Secret));
        hijack.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await hijack.Content.ReadAsStringAsync()).Should().Contain("this MCP session was opened with another token");
    }

    [Fact]
    public async Task DirectMessagesAreReadableOnlyByTheirRecipientAndSender_BroadcastsByEveryone()
    {
        var alice = await ConnectAsync("alice", TokenScope.Publish);
        var bob = await ConnectAsync("bob", TokenScope.Publish);
        var eve = await ConnectAsync("eve", TokenScope.Read);
        var admin = await ConnectAsync("admin", TokenScope.Admin);
        var a = (await alice.Client.CallAsync("register_session", new { name = "alice", machine = "m" })).Str("session_id");
        var b = (await bob.Client.CallAsync("register_session", new { name = "bob", machine = "m" })).Str("session_id");
        await eve.Client.CallAsync("register_session", new { name = "eve", machine = "m" });

        var dm = (await alice.Client.CallAsync("publish_event", new { event_type = "note", payload = "the password is swordfish", channel = "session:" + b, session_id = a }))
            .GetProperty("event_id").GetInt64();
        var broadcast = (await alice.Client.CallAsync("publish_event", new { event_type = "note", payload = "standup at 10", session_id = a }))
            .GetProperty("event_id").GetInt64();

        async Task<List<long>> IdsAsync(McpClient client) =>
            [.. (await client.CallAsync("get_events", new { cursor = "0", limit = 1000, order = "asc" })).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64())];

        (await IdsAsync(bob.Client)).Should().Contain([dm, broadcast], "the recipient reads its DM");
        (await IdsAsync(alice.Client)).Should().Contain([dm, broadcast], "the sender reads what it sent");
        (await IdsAsync(admin.Client)).Should().Contain([dm, broadcast]);
        var seenByEve = await IdsAsync(eve.Client);
        seenByEve.Should().Contain(broadcast).And.NotContain(dm, "a DM is private to its recipient and sender");
        (await eve.Client.CallAsync("get_events", new { channel = "session:" + b })).GetProperty("events").GetArrayLength().Should().Be(0);

        // REST reads and the SSE stream filter the same way.
        using var eveApi = Api(eve.Secret);
        var rest = await eveApi.GetStringAsync("/api/v1/events?cursor=0&limit=1000&order=asc");
        rest.Should().Contain("standup at 10").And.NotContain("swordfish");
        using var bobApi = Api(bob.Secret);
        (await bobApi.GetStringAsync("/api/v1/events?cursor=0&limit=1000&order=asc")).Should().Contain("swordfish");
        using var stream = await eveApi.GetAsync($"/api/v1/stream?cursor={dm - 1}", HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        var firstData = "";
        while (!firstData.StartsWith("data:", StringComparison.Ordinal))
        {
            firstData = (await reader.ReadLineAsync().WaitAsync(TestTimeouts.Default))!;
        }

        firstData.Should().Contain("standup at 10", "the stream skips the DM Eve may not see");
    }

    [Fact]
    public async Task ASubscriptionCannotPushOtherSessionsDirectMessages_ToANonAdminToken()
    {
        var alice = await ConnectAsync("alice", TokenScope.Publish);
        var inbox = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var secret = await CreateTokenAsync("snoop", TokenScope.Read);
        var snoop = await _host.ConnectAsync(options => options.Handlers = new McpClientHandlers
        {
            NotificationHandlers =
            [
                new("notifications/claude/channel", (n, _) =>
                {
                    inbox.Writer.TryWrite(JsonSerializer.SerializeToElement(n.Params));
                    return ValueTask.CompletedTask;
                }),
            ],
        }, secret);
        var s = (await snoop.CallAsync("register_session", new { name = "snoop", machine = "m" })).Str("session_id");
        await snoop.CallAsync("subscribe", new { channel = "session:#", min_level = "info" });
        var other = (await alice.Client.CallAsync("register_session", new { name = "alice", machine = "m" })).Str("session_id");

        await alice.Client.CallAsync("publish_event", new { event_type = "note", payload = "private", channel = "session:" + other, session_id = other });
        await alice.Client.CallAsync("publish_event", new { event_type = "note", payload = "for snoop", channel = "session:" + s });

        var first = await inbox.Reader.ReadAsync(TestTimeouts.Token());
        first.GetProperty("content").GetString().Should().EndWith("for snoop");
    }

    [Fact]
    public async Task ANetworkBind_RefusesToStartWithoutAToken_UnlessInsecureNoAuth_AndWithATokenRequiresIt()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        var act = () => BusHost.StartInAsync(directory, false, "--host", "0.0.0.0");
        (await act.Should().ThrowAsync<ConfigurationException>())
            .WithMessage("EventBus:Host is 0.0.0.0, a network address, and * holds no usable access token*eventbus token create --name laptop --scope admin --db *--insecure-no-auth*");

        await using (var insecure = await BusHost.StartInAsync(directory, false, "--host", "0.0.0.0", "--insecure-no-auth"))
        {
            using var open = new HttpClient { BaseAddress = new UriBuilder(insecure.BaseUri) { Host = "127.0.0.1" }.Uri };
            (await open.GetAsync("/api/v1/events")).StatusCode.Should().Be(HttpStatusCode.OK);
            insecure.KeepDirectory = true;
            await insecure.Service<ITokenStore>().CreateTokenAsync(
                new AccessToken(TokenSecrets.NewId(), "ops", TokenSecrets.Hash("ebt_ops-secret"), TokenScope.Admin, null, DateTimeOffset.UtcNow, null, null),
                TestTimeouts.Token());
        }

        await using var secured = await BusHost.StartInAsync(directory, false, "--host", "0.0.0.0");
        using var http = new HttpClient { BaseAddress = new UriBuilder(secured.BaseUri) { Host = "127.0.0.1" }.Uri };
        (await http.GetAsync("/api/v1/events")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "ebt_ops-secret");
        (await http.GetAsync("/api/v1/events")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task InsecureNoAuth_OnANetworkBind_WarnsAtStartAndEveryMinute_AndStopsOnceATokenExists()
    {
        var logs = new CapturingSink();
        await using var host = await BusHost.StartAsync(
            true, services => services.AddSingleton<Serilog.Core.ILogEventSink>(logs), "--host", "0.0.0.0", "--insecure-no-auth");
        int Warnings() => logs.Messages.Count(m => m.StartsWith("INSECURE: listening on 0.0.0.0:", StringComparison.Ordinal));
        await Waiting.UntilAsync(logs.Logged, () => Warnings() == 1);

        host.Time!.Advance(TimeSpan.FromMinutes(1));
        await Waiting.UntilAsync(logs.Logged, () => Warnings() == 2);

        await host.Service<ITokenStore>().CreateTokenAsync(
            new AccessToken(TokenSecrets.NewId(), "ops", TokenSecrets.Hash("ebt_x"), TokenScope.Admin, null, DateTimeOffset.UtcNow, null, null),
            TestTimeouts.Token());
        host.Service<TokenAuthenticator>().Invalidate();

        // The next pass, run here rather than on the clock so that its outcome is known when it returns.
        var warning = host.App.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<InsecureWarningService>().Single();
        await warning.RunOnceAsync(TestTimeouts.Token());
        Warnings().Should().Be(2, "with a token the bus is no longer open, so there is nothing to warn about");
    }

    /// <summary>Collects log messages as the console shows them (a Serilog sink: the server logs through Serilog).</summary>
    private sealed class CapturingSink : Serilog.Core.ILogEventSink
    {
        private static readonly Serilog.Formatting.Display.MessageTemplateTextFormatter Text = new("{Message:lj}");

        public System.Collections.Concurrent.ConcurrentQueue<string> Messages { get; } = new();

        /// <summary>Raised after each message is captured.</summary>
        public Core.Events.ChangeSignal Logged { get; } = new();

        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            using var text = new StringWriter();
            Text.Format(logEvent, text);
            Messages.Enqueue(text.ToString());
            Logged.Notify();
        }
    }

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";

    private Task<string> CreateTokenAsync(string name, TokenScope scope, DateTimeOffset? expires = null, string? pattern = null) =>
        _host.CreateTokenAsync(name, scope, expires, pattern);

    private Task<(McpClient Client, string Secret)> ConnectAsync(string name, TokenScope scope) => _host.ConnectWithTokenAsync(name, scope);

    /// <summary>A tools/call refused for its scope: HTTP 403, surfaced by the SDK client as an error; returns its message.</summary>
    private static async Task<string> ForbiddenAsync(McpClient client, string tool, object arguments)
    {
        var act = () => client.CallToolAsync(tool, McpCalls.ToDictionary(arguments), cancellationToken: TestTimeouts.Token()).AsTask();
        var thrown = await act.Should().ThrowAsync<Exception>();
        // The SDK client reports the HTTP 403 with the response body: the JSON-RPC error that says why.
        var message = thrown.Which.Message;
        message.Should().Contain("403").And.Contain("Response body: ");
        var body = message[(message.IndexOf("Response body: ", StringComparison.Ordinal) + 15)..];
        return JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").GetString()!;
    }

    private HttpClient Api(string secret) => _host.Api(secret);

    private static StringContent Json(string json) => TokenClients.Json(json);
}
