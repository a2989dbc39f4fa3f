using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using EventBus.Cli.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Cli.Tests.Channel;

/// <summary>
/// <c>eventbus channel --permission-relay</c> driven by an MCP stdio client playing Claude Code: it sends
/// <c>notifications/claude/channel/permission_request</c>, people and agents answer on the bus (CLI, tool, REST) with
/// their tokens, and the client receives <c>notifications/claude/channel/permission</c>, once, from a valid answer only.
/// </summary>
public sealed class PermissionRelayTests : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "state-" + Guid.NewGuid().ToString("N"));
    private readonly string _claudeSession = Guid.NewGuid().ToString();
    private readonly string _approvals = BusFixture.Unique("approvals:gizmo");
    private readonly List<string> _stderr = [];
    private BusHost _bus = null!;

    public async Task InitializeAsync() => _bus = await BusHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    private string Log
    {
        get
        {
            lock (_stderr)
            {
                return string.Join('\n', _stderr);
            }
        }
    }

    private sealed record Relay(McpClient Client, ChannelReader<JsonElement> Answers, ChannelReader<JsonElement> Messages) : IAsyncDisposable
    {
        public async Task<JsonElement> NextAsync(ChannelReader<JsonElement> reader)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            return await reader.ReadAsync(timeout.Token);
        }

        public Task RequestAsync(string requestId, string tool = "Bash") => Client.SendNotificationAsync(
            "notifications/claude/channel/permission_request",
            new Dictionary<string, string> { ["request_id"] = requestId, ["tool_name"] = tool, ["description"] = "List the files", ["input_preview"] = "{\"command\":\"ls\"}" },
            cancellationToken: TestTimeouts.Token());

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }

    private async Task<Relay> StartAsync(string? token, params string[] options)
    {
        var (file, prefix) = CliProcess.Command();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "eventbus-channel",
            Command = file,
            Arguments = [.. prefix, "channel", "--approvals-channel", _approvals, .. options],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["EVENTBUS_URL"] = _bus.McpUri.ToString(),
                ["CLAUDE_CODE_SESSION_ID"] = _claudeSession,
                ["EVENTBUS_STATE_DIR"] = _stateDirectory,
                ["EVENTBUS_TOKEN"] = token,
                ["EVENTBUS_PERMISSION_RELAY"] = null,
                ["EVENTBUS_DELIVERY"] = null,
                ["EVENTBUS_SESSION_ID"] = null,
                ["AGENT_EVENT_BUS_URL"] = null,
            },
            StandardErrorLines = line =>
            {
                lock (_stderr)
                {
                    _stderr.Add(line);
                }
            },
        });
        var answers = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var messages = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var client = await McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new Implementation { Name = "claude-code", Version = "test" } }, cancellationToken: TestTimeouts.Token());
        client.RegisterNotificationHandler("notifications/claude/channel/permission", (n, _) =>
        {
            answers.Writer.TryWrite(n.Params!.Deserialize<JsonElement>());
            return ValueTask.CompletedTask;
        });
        client.RegisterNotificationHandler("notifications/claude/channel", (n, _) =>
        {
            messages.Writer.TryWrite(n.Params!.Deserialize<JsonElement>());
            return ValueTask.CompletedTask;
        });
        return new Relay(client, answers.Reader, messages.Reader);
    }

    private CliRunner Cli(string? token = null) => new CliRunner(_bus.McpUri).With("EVENTBUS_TOKEN", token);

    private async Task<string> TokenAsync(string name, string scope)
    {
        var created = await Cli().RunAsync("token", "create", "--name", name, "--scope", scope, "--db", _bus.DatabasePath);
        created.ExitCode.Should().Be(0, created.ToString());
        return created.Out.Trim();
    }

    /// <summary>Waits until the request's event is on the bus, and returns its payload.</summary>
    private async Task<JsonElement> RequestEventAsync(string requestId, string? token)
    {
        JsonElement found = default;
        await Waiting.UntilCommittedAsync(_bus.Service<EventBus.Core.Events.CommitSignal>(), async () =>
        {
            var read = await Cli(token).RunAsync("events", "--channel", _approvals, "--json", "--correlation-id", "permission:" + requestId);
            if (read.ExitCode != 0 || read.Json().GetProperty("events").GetArrayLength() == 0)
            {
                return false;
            }

            found = read.Json().GetProperty("events")[0];
            return true;
        });
        return found;
    }

    [Fact]
    public async Task Relay_IsOffByDefault_AndDeclaresItsCapabilityOnlyWhenOn()
    {
        await using (var off = await StartAsync(null))
        {
            off.Client.ServerCapabilities.Experimental!.Should().ContainKey("claude/channel").And.NotContainKey("claude/channel/permission");
        }

        await using var on = await StartAsync(null, "--permission-relay");
        on.Client.ServerCapabilities.Experimental!.Should().ContainKey("claude/channel").And.ContainKey("claude/channel/permission");
    }

    [Fact]
    public async Task Relay_OnlyAnApproveToken_NotPublishNorTheRequester_Answers_AndTheFirstAnswerReachesClaudeCode_Once()
    {
        // The requesting session's own token may approve, and still may not answer its own request.
        var agent = await TokenAsync("agent", "approve");
        var publisher = await TokenAsync("publisher", "publish");
        var approver = await TokenAsync("approver", "approve");
        // The server reads tokens through a cache that lives one second on the real clock: nothing commits when it
        // refreshes, so this wait re-checks on real time.
        await Waiting.UntilAsync(
            async () => (await Cli().RunAsync("sessions")).ExitCode != 0,
            token => Task.Delay(TimeSpan.FromMilliseconds(100), token));
        await using var relay = await StartAsync(agent, "--permission-relay");

        await relay.RequestAsync("abcde");
        var request = await RequestEventAsync("abcde", approver);
        request.GetProperty("event_type").GetString().Should().Be("permission_request");
        request.GetProperty("signal_level").GetString().Should().Be("actionable");
        var payload = JsonDocument.Parse(request.GetProperty("payload").GetString()!).RootElement;
        payload.GetProperty("request_id").GetString().Should().Be("abcde");
        payload.GetProperty("tool_name").GetString().Should().Be("Bash");
        payload.GetProperty("description").GetString().Should().Be("List the files");
        payload.GetProperty("input_preview").GetString().Should().Be("{\"command\":\"ls\"}");
        payload.GetProperty("session_id").GetString().Should().Be(request.GetProperty("session_id").GetString());

        var byPublisher = await Cli(publisher).RunAsync("permission", "allow", "abcde");
        byPublisher.ExitCode.Should().NotBe(0, byPublisher.ToString());
        byPublisher.Error.Should().Contain("approve");
        var byRequester = await Cli(agent).RunAsync("permission", "allow", "abcde");
        byRequester.ExitCode.Should().NotBe(0, byRequester.ToString());
        byRequester.Error.Should().Contain("session that asked");
        var forged = await Cli(approver).RunAsync("publish", "--type", "permission_response", "--channel", _approvals, "--payload", "{\"request_id\":\"abcde\",\"behavior\":\"allow\"}");
        forged.ExitCode.Should().NotBe(0, "only the bus publishes answers");

        var answered = await Cli(approver).RunAsync("permission", "deny", "abcde");
        answered.ExitCode.Should().Be(0, answered.ToString());
        var again = await Cli(approver).RunAsync("permission", "allow", "abcde");
        again.ExitCode.Should().NotBe(0);
        again.Error.Should().Contain("already answered");

        var relayed = await relay.NextAsync(relay.Answers);
        relayed.GetProperty("request_id").GetString().Should().Be("abcde", Log);
        relayed.GetProperty("behavior").GetString().Should().Be("deny");

        // The same through REST, for a second request: 200, then relayed; a second POST is 409.
        await relay.RequestAsync("fghij", tool: "Write");
        await RequestEventAsync("fghij", approver);
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(_bus.BaseUri, "/api/v1/permissions/fghij")) { Content = JsonContent.Create(new { behavior = "allow" }) };
        post.Headers.Authorization = new("Bearer", approver);
        (await _bus.Http.SendAsync(post, TestTimeouts.Token())).StatusCode.Should().Be(HttpStatusCode.OK);
        using var second = new HttpRequestMessage(HttpMethod.Post, new Uri(_bus.BaseUri, "/api/v1/permissions/fghij")) { Content = JsonContent.Create(new { behavior = "deny" }) };
        second.Headers.Authorization = new("Bearer", approver);
        (await _bus.Http.SendAsync(second, TestTimeouts.Token())).StatusCode.Should().Be(HttpStatusCode.Conflict);
        var viaRest = await relay.NextAsync(relay.Answers);
        viaRest.GetProperty("request_id").GetString().Should().Be("fghij");
        viaRest.GetProperty("behavior").GetString().Should().Be("allow");

        // Every request and answer stays in the log: two requests, two answers (the refused ones left nothing).
        var log = await Cli(approver).RunAsync("events", "--channel", _approvals, "--json", "--limit", "50");
        log.Json().GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_type").GetString())
            .Should().BeEquivalentTo(["permission_request", "permission_response", "permission_request", "permission_response"]);
    }

    [Fact]
    public async Task Relay_RequestNobodyAnswersInTime_IsLeftToClaudeCode_NothingIsSent()
    {
        var me = BusFixture.Unique("me");
        await using var relay = await StartAsync(null, "--permission-relay", "--permission-timeout", "0.001s", "--name", me);
        await relay.RequestAsync("klmno");
        await RequestEventAsync("klmno", null);

        var late = await Cli().RunAsync("permission", "allow", "klmno");
        late.ExitCode.Should().NotBe(0, late.ToString());
        late.Error.Should().Contain("expired").And.Contain("Claude Code's own prompt");

        // A direct message published after the refused answer reaches the channel: had anything been relayed, it came first.
        string session = null!;
        await Waiting.UntilCommittedAsync(_bus.Service<EventBus.Core.Events.CommitSignal>(), async () =>
        {
            var sessions = await Cli().RunAsync("sessions", "--json");
            session = sessions.Json().EnumerateArray().Where(s => s.GetProperty("client_id").GetString() == _claudeSession)
                .Select(s => s.GetProperty("session_id").GetString()).FirstOrDefault()!;
            return session is not null;
        });
        (await Cli().RunAsync("publish", "--type", "note", "--channel", "session:" + session, "--payload", "after")).ExitCode.Should().Be(0);
        (await relay.NextAsync(relay.Messages)).GetProperty("content").GetString().Should().EndWith("after");
        relay.Answers.TryRead(out var sent).Should().BeFalse($"nothing may answer for Claude Code, but got {sent}");
    }

    [Fact]
    public async Task Relay_OnALoopbackBusWithoutTokens_AnAnswerFromThisMachineWorks()
    {
        await using var relay = await StartAsync(null, "--permission-relay");
        await relay.RequestAsync("pqrst");
        await RequestEventAsync("pqrst", null);

        var answered = await Cli().RunAsync("permission", "allow", "pqrst", "--json");
        answered.ExitCode.Should().Be(0, answered.ToString());
        answered.Json().GetProperty("answered_by").GetString().Should().Be("this machine (no token)");
        (await relay.NextAsync(relay.Answers)).GetProperty("behavior").GetString().Should().Be("allow");
    }
}
