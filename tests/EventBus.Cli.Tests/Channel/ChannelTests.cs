using System.Text.Json;
using System.Threading.Channels;
using EventBus.Cli.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Cli.Tests.Channel;

/// <summary>
/// <c>eventbus channel</c> as Claude Code runs it: the built CLI spawned by the C# SDK's stdio client transport, a
/// real server (stopped and started again on the same database and port), and other clients publishing.
/// </summary>
public sealed class ChannelTests : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "state-" + Guid.NewGuid().ToString("N"));
    private readonly string _claudeSession = Guid.NewGuid().ToString();
    private readonly List<string> _stderr = [];
    private readonly Core.Events.ChangeSignal _logged = new();
    private RestartableBus _bus = null!;

    public async Task InitializeAsync() => _bus = await RestartableBus.StartAsync();

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    /// <summary>What the channel process wrote on stderr (its log), for failure messages.</summary>
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

    private sealed record Channel(McpClient Client, ChannelReader<JsonElement> Notifications) : IAsyncDisposable
    {
        public async Task<JsonElement> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            return await Notifications.ReadAsync(timeout.Token);
        }

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }

    private async Task<Channel> StartChannelAsync()
    {
        var (file, prefix) = CliProcess.Command();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "eventbus-channel",
            Command = file,
            Arguments = [.. prefix, "channel"],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["EVENTBUS_URL"] = _bus.McpUrl,
                ["CLAUDE_CODE_SESSION_ID"] = _claudeSession,
                ["EVENTBUS_STATE_DIR"] = _stateDirectory,
                ["EVENTBUS_TOKEN"] = null,
                ["EVENTBUS_SESSION_ID"] = null,
                ["AGENT_EVENT_BUS_URL"] = null,
            },
            StandardErrorLines = line =>
            {
                lock (_stderr)
                {
                    _stderr.Add(line);
                }

                _logged.Notify();
            },
        });
        var notifications = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var client = await McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new Implementation { Name = "claude-code", Version = "test" } }, cancellationToken: TestTimeouts.Token());
        client.RegisterNotificationHandler("notifications/claude/channel", (notification, _) =>
        {
            notifications.Writer.TryWrite(notification.Params!.Deserialize<JsonElement>());
            return ValueTask.CompletedTask;
        });
        return new Channel(client, notifications.Reader);
    }

    private CliRunner Cli() => new(new Uri(_bus.McpUrl));

    /// <summary>Waits until the channel has registered this Claude Code session, and returns its bus session id.</summary>
    private async Task<string> ChannelSessionAsync()
    {
        string? id = null;
        // The channel registers with register_session, which commits a session_registered event.
        await Waiting.UntilCommittedAsync(_bus.Commits, async () =>
        {
            var sessions = await Cli().RunAsync("sessions", "--json");
            id = sessions.ExitCode == 0
                ? sessions.Json().EnumerateArray().Where(s => s.GetProperty("client_id").GetString() == _claudeSession).Select(s => s.GetProperty("session_id").GetString()).FirstOrDefault()
                : null;
            return id is not null;
        });
        return id!;
    }

    private async Task<string> PeerAsync()
    {
        var peer = await Cli().RunAsync("register", "--name", "peer", "--client-id", BusFixture.Unique("peer"), "--json");
        peer.ExitCode.Should().Be(0, peer.ToString());
        return peer.Json().GetProperty("session_id").GetString()!;
    }

    private async Task<long> PublishAsync(string? url, string channel, string payload, string? asSession = null, string type = "note")
    {
        var cli = url is null ? Cli() : new CliRunner(new Uri(url));
        string[] args = ["publish", "--type", type, "--payload", payload, "--channel", channel, "--json", .. asSession is null ? Array.Empty<string>() : ["--session-id", asSession]];
        var result = await cli.RunAsync(args);
        result.ExitCode.Should().Be(0, result.ToString());
        return result.Json().GetProperty("event_id").GetInt64();
    }

    private static string Meta(JsonElement notification, string key) => notification.GetProperty("meta").GetProperty(key).GetString()!;

    [Fact]
    public async Task Channel_DeclaresClaudeChannel_AndOffersReplyAndTheBusTools()
    {
        await using var channel = await StartChannelAsync();

        channel.Client.ServerCapabilities.Experimental!.Should().ContainKey("claude/channel");
        channel.Client.ServerInstructions.Should().Contain("<channel source=\"eventbus-channel\"").And.Contain("reply");
        channel.Client.ServerInfo!.Name.Should().Be("eventbus-channel");
        channel.Client.NegotiatedProtocolVersion.Should().Be("2025-11-25", "later revisions cannot carry channel messages");
        var tools = (await channel.Client.ListToolsAsync(cancellationToken: TestTimeouts.Token())).Select(t => t.Name).ToList();
        tools.Should().Contain(["reply", "publish_event", "get_events", "ack_events", "list_sessions", "subscribe", "list_subscriptions"]);
    }

    [Fact]
    public async Task Channel_PushesADirectMessage_WithTheServersContentAndMeta_AndNotChatter()
    {
        await using var channel = await StartChannelAsync();
        var me = await ChannelSessionAsync();
        var peer = await PeerAsync();
        var peerName = (await Cli().RunAsync("sessions", "--json")).Json().EnumerateArray().Single(s => s.GetProperty("session_id").GetString() == peer).GetProperty("display_id").GetString();

        await PublishAsync(null, "all", "chatter nobody pushes");
        var dm = await PublishAsync(null, $"session:{me}", "can you review #12?", asSession: peer, type: "review_request");

        var pushed = await channel.NextAsync();
        pushed.GetProperty("content").GetString().Should().Be($"review_request from {peerName} on session:{me}: can you review #12?");
        pushed.GetProperty("meta").EnumerateObject().Select(p => p.Name).Should().Equal("event_id", "channel", "event_type", "signal_level", "from");
        Meta(pushed, "event_id").Should().Be(dm.ToString());
        Meta(pushed, "channel").Should().Be($"session:{me}");
        Meta(pushed, "event_type").Should().Be("review_request");
        Meta(pushed, "signal_level").Should().Be("actionable");
        Meta(pushed, "from").Should().Be(peerName);
    }

    [Fact]
    public async Task Channel_SubscriptionsMadeThroughItsTools_ArePushedAtTheirLevel()
    {
        await using var channel = await StartChannelAsync();
        await ChannelSessionAsync();
        var subscribed = await channel.Client.CallToolAsync(
            "subscribe", new Dictionary<string, object?> { ["channel"] = "alerts:#", ["min_level"] = "info" }, cancellationToken: TestTimeouts.Token());
        subscribed.IsError.Should().NotBe(true, Log);

        await PublishAsync(null, "other", "not subscribed");
        var alert = await PublishAsync(null, "alerts:disk", "disk 91% full");

        var pushed = await channel.NextAsync();
        Meta(pushed, "event_id").Should().Be(alert.ToString());
        Meta(pushed, "channel").Should().Be("alerts:disk");
    }

    [Fact]
    public async Task Channel_Reply_AnswersTheSenderDirectly_InTheThread_AndMarksItRead()
    {
        await using var channel = await StartChannelAsync();
        var me = await ChannelSessionAsync();
        var peer = await PeerAsync();
        var question = await PublishAsync(null, $"session:{me}", "ship it?", asSession: peer, type: "question");
        Meta(await channel.NextAsync(), "event_id").Should().Be(question.ToString());

        var reply = await channel.Client.CallToolAsync("reply", new Dictionary<string, object?> { ["text"] = "yes, shipped" }, cancellationToken: TestTimeouts.Token());

        reply.IsError.Should().NotBe(true, string.Join(' ', reply.Content.OfType<TextContentBlock>().Select(c => c.Text)));
        var answer = (await Cli().RunAsync("events", "--session-id", peer, "--resume", "--json")).Json().GetProperty("events").EnumerateArray()
            .Single(e => e.GetProperty("event_type").GetString() == "reply");
        answer.GetProperty("payload").GetString().Should().Be("yes, shipped");
        answer.GetProperty("channel").GetString().Should().Be($"session:{peer}");
        answer.GetProperty("session_id").GetString().Should().Be(me);
        answer.GetProperty("correlation_id").GetString().Should().Be(question.ToString());
        var unread = (await Cli().RunAsync("events", "--session-id", me, "--resume", "--peek", "--json")).Json().GetProperty("events");
        unread.EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().NotContain(question, "answering marks the question read");
    }

    [Fact]
    public async Task Channel_AcrossABusRestart_DeliversWhatWasPublishedWhileItWasDown_ExactlyOnce()
    {
        await using var channel = await StartChannelAsync();
        var me = await ChannelSessionAsync();
        var first = await PublishAsync(null, $"session:{me}", "before the restart");
        Meta(await channel.NextAsync(), "event_id").Should().Be(first.ToString());

        // The bus goes down. While the channel cannot reach it, events are published into the same database (by a
        // server on another port: the channel's port stays dark), then the bus comes back where the channel looks.
        await _bus.StopAsync();
        await Waiting.UntilAsync(_logged, () => Log.Contains("Lost the bus's stream", StringComparison.Ordinal));
        var (other, otherUrl) = await _bus.StartOtherAsync();
        var whileDown = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            whileDown.Add(await PublishAsync(otherUrl, $"session:{me}", $"while down {i}"));
        }

        await PublishAsync(otherUrl, "all", "chatter while down");
        await RestartableBus.StopAsync(other);
        await _bus.RestartAsync();
        var after = await PublishAsync(null, $"session:{me}", "after the restart");

        // The channel writes them in order, but the C# SDK client runs notification handlers concurrently, so they can
        // land here reordered: what is checked is that each arrives exactly once.
        var received = new List<long>();
        while (received.Count < whileDown.Count + 1)
        {
            received.Add(long.Parse(Meta(await channel.NextAsync(), "event_id")));
        }

        received.Order().Should().Equal([.. whileDown, after], $"each event exactly once. Channel log:\n{Log}");
        channel.Notifications.TryRead(out _).Should().BeFalse("nothing was delivered twice");
    }

    [Fact]
    public async Task Channel_Restarted_ResumesFromItsCursorFile_WithoutRepeats()
    {
        string me;
        await using (var channel = await StartChannelAsync())
        {
            me = await ChannelSessionAsync();
            var seen = await PublishAsync(null, $"session:{me}", "seen by the first channel");
            Meta(await channel.NextAsync(), "event_id").Should().Be(seen.ToString());
        }

        var missed = await PublishAsync(null, $"session:{me}", "sent while Claude Code was closed");
        await using var again = await StartChannelAsync();

        Meta(await again.NextAsync(), "event_id").Should().Be(missed.ToString(), Log);
        (await ChannelSessionAsync()).Should().Be(me, "the same Claude Code session resumes the same bus session");
    }
}
