using System.Text.Json;
using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary>Every bus command against a real server: output, --json, exit codes.</summary>
public sealed class CommandTests(BusFixture fixture) : IClassFixture<BusFixture>
{
    private CliRunner Cli() => new(fixture.McpUri);

    private async Task<JsonElement> RegisterAsync(CliRunner cli, string? clientId = null)
    {
        var result = await cli.RunAsync("register", "--name", "tester", "--client-id", clientId ?? BusFixture.Unique("client"), "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        return result.Json();
    }

    [Fact]
    public async Task Register_PrintsIndentedResult_DisplayIdOnStderr_AndSendsHostnameAndCwd()
    {
        var cli = new CliRunner(fixture.McpUri) { MachineName = BusFixture.Unique("host"), CurrentDirectory = "/home/dev/projects/widget" };
        var result = await cli.RunAsync("register", "--client-id", "c-1");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().StartWith("{\n  \"session_id\": ");
        var session = result.Json();
        session.GetProperty("name").GetString().Should().Be("widget", "the name defaults to the directory's name");
        session.GetProperty("machine").GetString().Should().Be(cli.MachineName, "the CLI sends its host name as machine");
        session.GetProperty("cwd").GetString().Should().Be("/home/dev/projects/widget");
        session.GetProperty("repo").GetString().Should().Be("widget");
        result.Error.Should().Contain($"Registered as: {session.GetProperty("display_id").GetString()}")
            .And.Contain($"Session ID: {session.GetProperty("session_id").GetString()}");
    }

    [Fact]
    public async Task Register_Json_PrintsOneCompactLine()
    {
        var result = await Cli().RunAsync("register", "--name", "x", "--json");
        result.ExitCode.Should().Be(0);
        result.Out.TrimEnd('\n').Should().NotContain("\n");
        result.Json().GetProperty("resumed").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Unregister_ByClientId_ThenAgain_FailsWithError()
    {
        var cli = Cli();
        var client = BusFixture.Unique("client");
        var session = await RegisterAsync(cli, client);

        var first = await cli.RunAsync("unregister", "--client-id", client);
        first.ExitCode.Should().Be(0, first.ToString());
        first.Json().GetProperty("session_id").GetString().Should().Be(session.GetProperty("session_id").GetString());

        var again = await cli.RunAsync("unregister", "--session-id", session.GetProperty("session_id").GetString()!);
        again.ExitCode.Should().Be(1);
        again.Error.Should().Be("Error: Session deleted\n");
    }

    [Fact]
    public async Task Unregister_WithoutAnyId_IsAUsageError()
    {
        var result = await Cli().RunAsync("unregister");
        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("--session-id or --client-id");
    }

    [Fact]
    public async Task Sessions_ListsTheOldFormat_AndJson()
    {
        var cli = new CliRunner(fixture.McpUri) { MachineName = BusFixture.Unique("host") };
        var session = await RegisterAsync(cli, "sessions-client");

        var text = await cli.RunAsync("sessions");
        text.ExitCode.Should().Be(0);
        text.Out.Should().StartWith("Active sessions (")
            .And.Contain($"  {session.GetProperty("display_id").GetString()}  tester\n    repo: gizmo, machine: {cli.MachineName}\n    client_id: sessions-client\n    age: ")
            .And.Contain($"    session_id: {session.GetProperty("session_id").GetString()![..8]}…");

        var json = await cli.RunAsync("sessions", "--json");
        json.Json().EnumerateArray().Select(s => s.GetProperty("session_id").GetString()).Should().Contain(session.GetProperty("session_id").GetString());
    }

    [Fact]
    public async Task Channels_CountsSubscribers()
    {
        var cli = new CliRunner(fixture.McpUri) { MachineName = BusFixture.Unique("host") };
        await RegisterAsync(cli);
        var result = await cli.RunAsync("channels");
        result.ExitCode.Should().Be(0);
        result.Out.Should().StartWith("Active channels (").And.Contain($"  machine:{cli.MachineName}  (1 subscriber)\n");
        (await cli.RunAsync("channels", "--json")).Json().ValueKind.Should().Be(JsonValueKind.Array);
    }

    [Fact]
    public async Task Publish_TheOldFlags_PrintIndentedResult()
    {
        var channel = BusFixture.Unique("repo");
        var result = await Cli().RunAsync(
            "publish", "--type", "task_request", "--payload", "Review PR #42?", "--channel", channel, "--title", "Review", "--tags", "a, b",
            "--correlation-id", "review-42", "--signal-level", "actionable");
        result.ExitCode.Should().Be(0, result.ToString());
        var published = result.Json();
        published.GetProperty("channel").GetString().Should().Be(channel);
        published.GetProperty("signal_level").GetString().Should().Be("actionable");
        published.GetProperty("correlation_id").GetString().Should().Be("review-42");

        var read = (await Cli().RunAsync("events", "--channel", channel, "--json")).Json().GetProperty("events")[0];
        read.GetProperty("title").GetString().Should().Be("Review");
        read.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Equal("a", "b");
    }

    [Theory]
    [InlineData("publish", "--payload", "x")]
    [InlineData("publish", "--type", "t")]
    [InlineData("publish", "--type", "t", "--payload", "x", "--signal-level", "loud")]
    [InlineData("events", "--order", "sideways")]
    [InlineData("notify", "--title", "t")]
    [InlineData("nonsense")]
    [InlineData("publish", "--type", "t", "--payload", "x", "--bogus")]
    public async Task BadCommandLines_ExitWith2_AndSayWhy(params string[] args)
    {
        var result = await Cli().RunAsync(args);
        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().StartWith("eventbus: ");
        result.Out.Should().BeEmpty();
    }

    [Fact]
    public async Task Publish_RefusedByTheBus_Exits1_WithTheBusMessage()
    {
        var result = await Cli().RunAsync("publish", "--type", "t", "--payload", new string('x', 70_000));
        result.ExitCode.Should().Be(1);
        result.Error.Should().StartWith("eventbus: ").And.Contain("payload");
    }

    [Fact]
    public async Task Events_TextFormat_IsTheOldCli()
    {
        var channel = BusFixture.Unique("fmt");
        var cli = Cli();
        var published = (await cli.RunAsync("publish", "--type", "ci_failed", "--payload", "tests red", "--channel", channel, "--title", "CI", "--tags", "ci", "--correlation-id", "c7", "--json")).Json();
        var id = published.GetProperty("event_id").GetInt64();

        var result = await cli.RunAsync("events", "--channel", channel);
        result.ExitCode.Should().Be(0);
        result.Out.Should().MatchRegex(
            $@"^\[{id}\] ci_failed \({channel}\) \[actionable\]\n    title: CI\n    tests red\n    from: anonymous at \d{{4}}-\d\d-\d\dT[0-9:.]+Z corr:c7 tags:ci\n\n$");

        var none = await cli.RunAsync("events", "--channel", BusFixture.Unique("empty"));
        none.Out.Should().Be("No events\n");
    }

    [Fact]
    public async Task Events_ResumePeekIncludeExcludeMinLevel_WorkLikeTheOldCli()
    {
        var cli = Cli();
        var session = await RegisterAsync(cli);
        var id = session.GetProperty("session_id").GetString()!;
        foreach (var (type, level) in new[] { ("task_started", "lifecycle"), ("note", "info"), ("help_needed", "actionable") })
        {
            (await cli.RunAsync("publish", "--type", type, "--payload", level, "--channel", "cli-tests")).ExitCode.Should().Be(0);
        }

        var peek = (await cli.RunAsync("events", "--session-id", id, "--resume", "--peek", "--order", "asc", "--json")).Json();
        peek.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_type").GetString())
            .Should().Equal("task_started", "note", "help_needed");

        var filtered = (await cli.RunAsync("events", "--session-id", id, "--resume", "--peek", "--include", "note,help_needed", "--exclude", "note", "--json")).Json();
        filtered.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_type").GetString()).Should().Equal("help_needed");

        var min = (await cli.RunAsync("events", "--session-id", id, "--resume", "--peek", "--min-level", "info", "--order", "asc", "--json")).Json();
        min.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_type").GetString()).Should().Equal("note", "help_needed");

        var consumed = (await cli.RunAsync("events", "--session-id", id, "--resume", "--order", "asc", "--json")).Json();
        consumed.GetProperty("events").GetArrayLength().Should().Be(3, "the peeks did not move the cursor");
        consumed.GetProperty("has_more").GetBoolean().Should().BeFalse();

        var after = (await cli.RunAsync("events", "--session-id", id, "--resume", "--json")).Json();
        after.GetProperty("events").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Events_Resume_WithoutSession_IsAUsageError()
    {
        var result = await Cli().RunAsync("events", "--resume");
        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("--resume requires --session-id");
    }

    [Fact]
    public async Task Events_UnknownSessionWithResume_Exits1_ErrorOnStderr_OrJsonOnStdout()
    {
        var text = await Cli().RunAsync("events", "--session-id", Guid.NewGuid().ToString(), "--resume");
        text.ExitCode.Should().Be(1);
        text.Error.Should().Be("Error: Session not found\n");

        var json = await Cli().RunAsync("events", "--session-id", Guid.NewGuid().ToString(), "--resume", "--json");
        json.ExitCode.Should().Be(1);
        json.Json().GetProperty("error").GetString().Should().Be("Session not found");
    }

    [Fact]
    public async Task Events_HasMore_PrintsTheDrainHint()
    {
        var channel = BusFixture.Unique("many");
        for (var i = 0; i < 3; i++)
        {
            await Cli().RunAsync("publish", "--type", "t", "--payload", $"{i}", "--channel", channel);
        }

        var result = await Cli().RunAsync("events", "--channel", channel, "--limit", "2", "--order", "asc", "--cursor", "0");
        result.ExitCode.Should().Be(0);
        result.Error.Should().StartWith("More events available; re-poll with --cursor ");
    }

    [Fact]
    public async Task Ack_SavesTheCursor_AndRefusesARewind()
    {
        var cli = Cli();
        var session = await RegisterAsync(cli);
        var id = session.GetProperty("session_id").GetString()!;
        var published = (await cli.RunAsync("publish", "--type", "t", "--payload", "p", "--json")).Json().GetProperty("event_id").GetInt64();

        var ok = await cli.RunAsync("ack", published.ToString(), "--session-id", id);
        ok.ExitCode.Should().Be(0, ok.ToString());
        ok.Out.Should().Be($"Cursor saved: {session.GetProperty("cursor").GetString()} -> {published}\n");

        var rewind = await cli.RunAsync("ack", "0", "--session-id", id);
        rewind.ExitCode.Should().Be(1);
        rewind.Error.Should().StartWith("Error: ").And.Contain("allow_rewind");

        (await cli.RunAsync("ack", "0", "--session-id", id, "--allow-rewind", "--json")).Json().GetProperty("cursor").GetString().Should().Be("0");
    }

    [Fact]
    public async Task Notify_WithoutADesktop_SaysSo_AndExits1()
    {
        var result = await Cli().RunAsync("notify", "--title", "Build", "--message", "done");
        // The test machine has no desktop session: the bus answers success=false and the old CLI said "Notification failed".
        result.ExitCode.Should().Be(1);
        result.Error.Should().Be("Notification failed\n");
    }

    [Fact]
    public async Task SubscribeUnsubscribeSubscriptions_RoundTrip()
    {
        var cli = Cli();
        var id = (await RegisterAsync(cli)).GetProperty("session_id").GetString()!;
        cli.With("EVENTBUS_SESSION_ID", id);

        var sub = await cli.RunAsync("subscribe", "alerts:#", "--min-level", "info");
        sub.ExitCode.Should().Be(0, sub.ToString());
        sub.Out.Should().Be("Subscribed to alerts:# (min level info)\n");

        var list = await cli.RunAsync("subscriptions");
        list.Out.Should().Contain("  alerts:#  [info]\n").And.Contain("(implicit)");

        (await cli.RunAsync("unsubscribe", "alerts:#")).Out.Should().Be("Unsubscribed from alerts:#\n");
        var again = await cli.RunAsync("unsubscribe", "alerts:#");
        again.ExitCode.Should().Be(1);
        again.Error.Should().StartWith("Error: Not subscribed");

        (await new CliRunner(fixture.McpUri).RunAsync("subscribe", "x")).ExitCode.Should().Be(2, "no session id anywhere");
    }

    [Fact]
    public async Task Help_ListsEveryCommand_AndExits0()
    {
        var result = await Cli().RunAsync("--help");
        result.ExitCode.Should().Be(0);
        foreach (var command in new[] { "serve", "register", "unregister", "sessions", "channels", "publish", "events", "ack", "watch", "subscribe", "unsubscribe", "notify", "webhook", "setup", "doctor", "service" })
        {
            result.Out.Should().Contain($"  {command} ");
        }
    }
}
