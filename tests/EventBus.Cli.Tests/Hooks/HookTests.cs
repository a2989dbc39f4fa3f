using System.Text.Json;
using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests.Hooks;

/// <summary>
/// <c>eventbus hook …</c> fed the JSON Claude Code sends on stdin (shapes from Claude Code's hooks documentation), with
/// the output checked against what Claude Code reads: SessionStart / UserPromptSubmit
/// <c>{"hookSpecificOutput":{"hookEventName","additionalContext"}}</c>, Stop <c>{"decision":"block","reason"}</c> or
/// nothing, asyncRewake exit code 2 with the message on stderr; and the bus down.
/// </summary>
public sealed class HookTests(BusFixture fixture) : IClassFixture<BusFixture>, IDisposable
{
    private const string Cwd = "/home/dev/projects/gizmo";
    private readonly string _state = Path.Combine(Path.GetTempPath(), "eventbus-tests", "hooks-" + Guid.NewGuid().ToString("N"));
    private readonly string _claude = Guid.NewGuid().ToString();

    public void Dispose()
    {
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    private CliRunner Cli(string? url = null) => new CliRunner(url is null ? fixture.McpUri : new Uri(url)).With("EVENTBUS_STATE_DIR", _state);

    // What Claude Code writes on stdin (hooks documentation): common fields, then the event's own.
    private string Input(string hookEventName, string extra = "") =>
        $$"""{"session_id":"{{_claude}}","transcript_path":"/home/dev/.claude/projects/gizmo/{{_claude}}.jsonl","cwd":"{{Cwd}}","permission_mode":"default","hook_event_name":"{{hookEventName}}"{{extra}}}""";

    private string SessionStartInput(string source = "startup") => Input("SessionStart", $$""","source":"{{source}}","model":"claude-sonnet-4-5" """.TrimEnd());

    private string PromptInput() => Input("UserPromptSubmit", ""","prompt":"fix the flaky test" """.TrimEnd());

    private string StopInput(bool active) => Input("Stop", $$""","stop_hook_active":{{(active ? "true" : "false")}},"last_assistant_message":"Done." """.TrimEnd());

    private Task<CliResult> HookAsync(string hook, string stdin, params string[] extra) => HookAsync(Cli(), hook, stdin, extra);

    private static Task<CliResult> HookAsync(CliRunner cli, string hook, string stdin, params string[] extra) =>
        cli.RunAsync(["hook", hook, .. extra], stdin);

    private async Task<string> StartSessionAsync()
    {
        var start = await HookAsync("session-start", SessionStartInput());
        start.ExitCode.Should().Be(0, start.ToString());
        var sessions = (await Cli().RunAsync("sessions", "--json")).Json();
        return sessions.EnumerateArray().Single(s => s.GetProperty("client_id").GetString() == _claude).GetProperty("session_id").GetString()!;
    }

    private async Task<long> PublishAsync(string channel, string payload, string type = "note", string? asSession = null)
    {
        string[] args = ["publish", "--type", type, "--payload", payload, "--channel", channel, "--json", .. asSession is null ? Array.Empty<string>() : ["--session-id", asSession]];
        var result = await Cli().RunAsync(args);
        result.ExitCode.Should().Be(0, result.ToString());
        return result.Json().GetProperty("event_id").GetInt64();
    }

    /// <summary>stdout as Claude Code parses it: one JSON object with exactly the keys given.</summary>
    private static JsonElement Output(CliResult result, params string[] keys)
    {
        result.ExitCode.Should().Be(0, result.ToString());
        var json = result.Json();
        json.ValueKind.Should().Be(JsonValueKind.Object);
        json.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(keys, result.ToString());
        return json;
    }

    private static string AdditionalContext(CliResult result, string hookEventName)
    {
        var specific = Output(result, "hookSpecificOutput").GetProperty("hookSpecificOutput");
        specific.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("hookEventName", "additionalContext");
        specific.GetProperty("hookEventName").GetString().Should().Be(hookEventName);
        var context = specific.GetProperty("additionalContext").GetString()!;
        context.Length.Should().BeLessThan(10_000, "Claude Code moves longer context into a file");
        return context;
    }

    [Fact]
    public async Task SessionStart_RegistersTheClaudeSession_AndTellsTheAgentWhoItIsAndHowToTalk()
    {
        var result = await HookAsync("session-start", SessionStartInput());

        var context = AdditionalContext(result, "SessionStart");
        var session = (await Cli().RunAsync("sessions", "--json")).Json().EnumerateArray().Single(s => s.GetProperty("client_id").GetString() == _claude);
        var id = session.GetProperty("session_id").GetString()!;
        session.GetProperty("name").GetString().Should().Be("gizmo", "outside a git checkout the name is the folder's");
        session.GetProperty("cwd").GetString().Should().Be(Cwd);
        context.Should().Contain(session.GetProperty("display_id").GetString()).And.Contain($"session_id {id}")
            .And.Contain($"session:{id}").And.Contain("publish_event").And.Contain("get_events").And.Contain("Nothing unread");
    }

    [Fact]
    public async Task SessionStart_OnResume_ResumesTheSameSession_AndShowsWhatIsUnread_DirectedFirst()
    {
        var id = await StartSessionAsync();
        await PublishAsync("all", "someone else's chatter");
        await PublishAsync($"session:{id}", "please rebase onto main", type: "request");

        var context = AdditionalContext(await HookAsync("session-start", SessionStartInput("resume")), "SessionStart");

        context.Should().Contain($"session_id {id}").And.Contain("resumed");
        var lines = context.Split('\n').Where(l => l.StartsWith("- #", StringComparison.Ordinal)).ToList();
        lines.Should().HaveCount(2);
        lines[0].Should().Contain("[to you]").And.Contain("please rebase onto main");
        lines[1].Should().Contain("someone else's chatter");
    }

    [Fact]
    public async Task Prompt_PrintsUnreadEventsAsContext_AndConsumesThem()
    {
        var id = await StartSessionAsync();
        var peer = (await Cli().RunAsync("register", "--name", "peer", "--client-id", BusFixture.Unique("peer"), "--json")).Json();
        await PublishAsync("all", "deploy finished", type: "deploy_done", asSession: peer.GetProperty("session_id").GetString());

        var context = AdditionalContext(await HookAsync("prompt", PromptInput()), "UserPromptSubmit");

        context.Should().Contain($"deploy_done from {peer.GetProperty("display_id").GetString()} on all: deploy finished")
            .And.Contain($"answer on session:{peer.GetProperty("session_id").GetString()}");
        var again = await HookAsync("prompt", PromptInput());
        again.ExitCode.Should().Be(0);
        again.Out.Should().BeEmpty("the events were consumed: nothing is new");
        _ = id;
    }

    [Fact]
    public async Task Prompt_LeavesOutLifecycleNoiseAndOwnEvents_AndPrintsNothingWhenThatIsAll()
    {
        var id = await StartSessionAsync();
        await Cli().RunAsync("register", "--name", "newcomer", "--client-id", BusFixture.Unique("c")); // session_registered: lifecycle
        await PublishAsync("all", "my own note", asSession: id);

        var result = await HookAsync("prompt", PromptInput());

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().BeEmpty();
    }

    [Fact]
    public async Task Stop_WithOnlyChatterUnread_AllowsTheStop_AndLeavesItUnread()
    {
        await StartSessionAsync();
        await PublishAsync("all", "fyi: lunch");

        var result = await HookAsync("stop", StopInput(active: false));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().BeEmpty("printing nothing lets Claude stop");
        AdditionalContext(await HookAsync("prompt", PromptInput()), "UserPromptSubmit").Should().Contain("fyi: lunch");
    }

    [Fact]
    public async Task Stop_WithADirectMessageUnread_Blocks_WithTheMessageAsTheReason_AndMarksItRead()
    {
        var id = await StartSessionAsync();
        var dm = await PublishAsync($"session:{id}", "CI is red on main, can you look?", type: "help_needed");

        var block = Output(await HookAsync("stop", StopInput(active: false)), "decision", "reason");

        block.GetProperty("decision").GetString().Should().Be("block");
        block.GetProperty("reason").GetString().Should().Contain($"#{dm} [to you] help_needed").And.Contain("CI is red on main, can you look?");
        var next = await HookAsync("stop", StopInput(active: true));
        next.ExitCode.Should().Be(0);
        next.Out.Should().BeEmpty("it was shown once and marked read; nothing new arrived");
    }

    [Fact]
    public async Task Stop_WithActionableBroadcastOnItsRepo_Blocks_ButNotForAnotherRepo()
    {
        await StartSessionAsync();
        await PublishAsync("repo:other-project", "their CI failed", type: "ci_failed");

        (await HookAsync("stop", StopInput(active: false))).Out.Should().BeEmpty("another repo's failure is not for this session");

        await PublishAsync("repo:gizmo", "our CI failed", type: "ci_failed");
        var block = Output(await HookAsync("stop", StopInput(active: false)), "decision", "reason");
        block.GetProperty("reason").GetString().Should().Contain("[for you] ci_failed").And.Contain("our CI failed").And.NotContain("their CI failed");
    }

    [Fact]
    public async Task Stop_RespectsStopHookActive_AndNeverBlocksMoreThanMaxBlocksInARow()
    {
        var id = await StartSessionAsync();
        await PublishAsync($"session:{id}", "one");
        Output(await HookAsync("stop", StopInput(active: false), "--max-blocks", "2"), "decision", "reason");
        await PublishAsync($"session:{id}", "two");
        Output(await HookAsync("stop", StopInput(active: true), "--max-blocks", "2"), "decision", "reason");
        await PublishAsync($"session:{id}", "three");

        var third = await HookAsync("stop", StopInput(active: true), "--max-blocks", "2");

        third.ExitCode.Should().Be(0, third.ToString());
        third.Out.Should().BeEmpty("two blocks in a row is the limit: Claude may stop");
        third.Error.Should().Contain("already blocked 2 time(s) in a row");
        // Claude stopping on its own (stop_hook_active false) starts a new run of blocks; "three" is still unread.
        var fresh = Output(await HookAsync("stop", StopInput(active: false), "--max-blocks", "2"), "decision", "reason");
        fresh.GetProperty("reason").GetString().Should().Contain("three");
    }

    [Fact]
    public async Task Rewake_WaitsForADirectedEvent_PrintsItOnStderr_AndExitsTwo()
    {
        var id = await StartSessionAsync();
        var rewake = HookAsync("rewake", Input("Stop", ",\"stop_hook_active\":false"), "--wait", "60", "--poll", "5");
        await PublishAsync("all", "chatter does not wake anyone");
        var dm = await PublishAsync($"session:{id}", "are you there?", type: "question");

        var result = await rewake;

        result.ExitCode.Should().Be(2, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain($"#{dm} [to you] question").And.Contain("are you there?").And.NotContain("chatter does not wake");
        (await HookAsync("stop", StopInput(active: true))).Out.Should().BeEmpty("what woke the session is marked read");
    }

    [Fact]
    public async Task Rewake_NothingArrives_ExitsZeroQuietly_WhenTheWaitIsOver()
    {
        await StartSessionAsync();

        var result = await HookAsync("rewake", Input("Stop"), "--wait", "1", "--poll", "1");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().BeEmpty();
    }

    [Fact]
    public async Task Rewake_WakesAtMostMaxWakesTimes_UntilAPromptIsTyped()
    {
        var id = await StartSessionAsync();
        await PublishAsync($"session:{id}", "ping 1");
        (await HookAsync("rewake", Input("Stop"), "--wait", "30", "--max-wakes", "1")).ExitCode.Should().Be(2);
        await PublishAsync($"session:{id}", "ping 2");

        var second = await HookAsync("rewake", Input("Stop"), "--wait", "30", "--max-wakes", "1");

        second.ExitCode.Should().Be(0, second.ToString());
        second.Error.Should().Contain("already woken 1 time(s)");
        await HookAsync("prompt", PromptInput()); // A person typed (and read "ping 2").
        await PublishAsync($"session:{id}", "ping 3");
        (await HookAsync("rewake", Input("Stop"), "--wait", "30", "--max-wakes", "1")).ExitCode.Should().Be(2);
    }

    [Theory]
    [InlineData("session-start")]
    [InlineData("prompt")]
    [InlineData("stop")]
    [InlineData("rewake")]
    public async Task Hook_BusDown_PrintsNothing_ExitsZero_AndSaysSoInOneLineOnStderr(string hook)
    {
        var result = await HookAsync(Cli(BusFixture.DeadUrl()), hook, Input("Stop", ",\"stop_hook_active\":false"));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.TrimEnd('\n').Split('\n').Should().ContainSingle().Which.Should().Contain("the bus is down");
    }

    [Fact]
    public async Task Hook_InputThatIsNotJson_IsReported_WithoutBlocking()
    {
        var result = await HookAsync("stop", "this is not json");

        result.ExitCode.Should().Be(1, "a non-blocking error: Claude Code shows stderr and carries on (2 would block the stop)");
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("not JSON");
    }

    [Fact]
    public async Task Hook_AsARealProcess_ReadsStdin_AndAnswersInTime_WhenTheBusIsDown()
    {
        var result = await CliProcess.RunAsync(
            ["hook", "stop"],
            new Dictionary<string, string?> { ["EVENTBUS_URL"] = BusFixture.DeadUrl(), ["EVENTBUS_STATE_DIR"] = _state },
            StopInput(active: false));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Contain("eventbus hook stop: the bus is down");
    }

    [Fact]
    public async Task Hook_AsARealProcess_PrintsTheSessionStartJson()
    {
        var result = await CliProcess.RunAsync(
            ["hook", "session-start"],
            new Dictionary<string, string?> { ["EVENTBUS_URL"] = fixture.McpUri.ToString(), ["EVENTBUS_STATE_DIR"] = _state },
            SessionStartInput());

        AdditionalContext(result, "SessionStart").Should().Contain("EventBus: you are");
    }
}
