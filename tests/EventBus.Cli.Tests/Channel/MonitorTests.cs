using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using EventBus.Cli.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Cli.Tests.Channel;

/// <summary>
/// <c>eventbus monitor</c> (the plugin's monitor: each stdout line reaches the model) beside <c>eventbus channel</c> in one
/// Claude Code session: <c>EVENTBUS_DELIVERY</c> decides which one delivers, and an event is never delivered by both.
/// </summary>
public sealed class MonitorTests : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "state-" + Guid.NewGuid().ToString("N"));
    private readonly string _claudeSession = Guid.NewGuid().ToString();
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

    private Dictionary<string, string?> Environment(string? delivery) => new()
    {
        ["EVENTBUS_URL"] = _bus.McpUri.ToString(),
        ["CLAUDE_CODE_SESSION_ID"] = _claudeSession,
        ["EVENTBUS_STATE_DIR"] = _stateDirectory,
        ["EVENTBUS_DELIVERY"] = delivery,
    };

    private CliRunner Cli() => new(_bus.McpUri);

    /// <summary>The channel as Claude Code spawns it from the plugin, with the relay on (its answers mark how far it has read).</summary>
    private async Task<(McpClient Client, ChannelReader<JsonElement> Messages, ChannelReader<JsonElement> Answers)> ChannelAsync(string? delivery)
    {
        var (file, prefix) = CliProcess.Command();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "eventbus-channel",
            Command = file,
            Arguments = [.. prefix, "channel", "--permission-relay", "--approvals-channel", BusFixture.Unique("approvals:t")],
            EnvironmentVariables = Environment(delivery),
        });
        var messages = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var answers = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        var client = await McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new Implementation { Name = "claude-code", Version = "test" } }, cancellationToken: TestTimeouts.Token());
        client.RegisterNotificationHandler("notifications/claude/channel", (n, _) =>
        {
            messages.Writer.TryWrite(n.Params!.Deserialize<JsonElement>());
            return ValueTask.CompletedTask;
        });
        client.RegisterNotificationHandler("notifications/claude/channel/permission", (n, _) =>
        {
            answers.Writer.TryWrite(n.Params!.Deserialize<JsonElement>());
            return ValueTask.CompletedTask;
        });
        return (client, messages.Reader, answers.Reader);
    }

    private async Task<string> SessionAsync()
    {
        string? id = null;
        await Waiting.UntilCommittedAsync(_bus.Service<EventBus.Core.Events.CommitSignal>(), async () =>
        {
            var sessions = await Cli().RunAsync("sessions", "--json");
            id = sessions.Json().EnumerateArray().Where(s => s.GetProperty("client_id").GetString() == _claudeSession)
                .Select(s => s.GetProperty("session_id").GetString()).FirstOrDefault();
            return id is not null;
        });
        return id!;
    }

    private async Task<long> DirectMessageAsync(string session, string text)
    {
        var published = await Cli().RunAsync("publish", "--type", "question", "--channel", "session:" + session, "--payload", text, "--json");
        published.ExitCode.Should().Be(0, published.ToString());
        return published.Json().GetProperty("event_id").GetInt64();
    }

    private static async Task<string> ReadLineAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        return await process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the monitor closed its output");
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
    }

    [Fact]
    public async Task Monitor_ByDefault_PrintsTheDirectMessage_AndTheChannelBesideItDeliversNothing()
    {
        var (client, messages, answers) = await ChannelAsync(delivery: "monitor");
        await using var _ = client;
        using var monitor = CliProcess.Start(["monitor"], Environment(delivery: null));
        try
        {
            var session = await SessionAsync();
            var id = await DirectMessageAsync(session, "can you review #12?");

            var line = await ReadLineAsync(monitor);
            line.Should().StartWith($"[eventbus event {id}] question from ").And.Contain($"on session:{session}: can you review #12?")
                .And.Contain($"ack_events(cursor=\"{id}\")");

            // A permission answer published after the message reaches the channel after it (one stream, in order): by
            // then the channel has read the message, and it pushed nothing.
            await client.SendNotificationAsync(
                "notifications/claude/channel/permission_request",
                new Dictionary<string, string> { ["request_id"] = "order", ["tool_name"] = "Bash", ["description"] = "d", ["input_preview"] = "p" },
                cancellationToken: TestTimeouts.Token());
            await Waiting.UntilCommittedAsync(_bus.Service<EventBus.Core.Events.CommitSignal>(), async () => (await Cli().RunAsync("permission", "allow", "order")).ExitCode == 0);
            using (var timeout = new CancellationTokenSource(TestTimeouts.Default))
            {
                (await answers.ReadAsync(timeout.Token)).GetProperty("request_id").GetString().Should().Be("order");
            }

            messages.TryRead(out var pushed).Should().BeFalse($"the monitor delivers, so the channel must not (it pushed {pushed})");
        }
        finally
        {
            Stop(monitor);
        }
    }

    [Fact]
    public async Task Delivery_Channel_TheMonitorExitsAtOnce_PrintingNothing_AndTheChannelPushes()
    {
        var quiet = await CliProcess.RunAsync(["monitor"], Environment(delivery: "channel"));
        quiet.ExitCode.Should().Be(0, quiet.ToString());
        quiet.Out.Should().BeEmpty();
        quiet.Error.Should().Contain("EVENTBUS_DELIVERY=channel");

        var (client, messages, _) = await ChannelAsync(delivery: "channel");
        await using var __ = client;
        var session = await SessionAsync();
        var id = await DirectMessageAsync(session, "ping");
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        (await messages.ReadAsync(timeout.Token)).GetProperty("meta").GetProperty("event_id").GetString().Should().Be(id.ToString());
    }

    [Fact]
    public async Task Delivery_Unknown_IsRefusedWithAReason()
    {
        var bad = await Cli().With("EVENTBUS_DELIVERY", "both").RunAsync("monitor");
        bad.ExitCode.Should().Be(2, bad.ToString());
        bad.Error.Should().Contain("EVENTBUS_DELIVERY must be \"channel\" or \"monitor\"");
    }
}
