using System.Text.Json.Nodes;
using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary><c>eventbus setup claude</c> and <c>eventbus doctor</c> on real files and a real server.</summary>
public sealed class SetupAndDoctorTests(BusFixture fixture) : IClassFixture<BusFixture>, IDisposable
{
    private readonly string _project = Directory.CreateTempSubdirectory("eventbus-setup-").FullName;
    private readonly string _home = Directory.CreateTempSubdirectory("eventbus-home-").FullName;

    private CliRunner Cli() => new(fixture.McpUri) { CurrentDirectory = _project, HomeDirectory = _home };

    private string McpJson => Path.Combine(_project, ".mcp.json");

    private string Settings => Path.Combine(_project, ".claude", "settings.json");

    [Fact]
    public async Task Setup_WritesServerChannelAndHooks_KeepsTheRest_AndIsIdempotent()
    {
        await File.WriteAllTextAsync(McpJson, """{"mcpServers":{"other":{"type":"stdio","command":"x"}},"note":1}""");
        Directory.CreateDirectory(Path.GetDirectoryName(Settings)!);
        await File.WriteAllTextAsync(Settings, """{"model":"opus","hooks":{"Stop":[{"hooks":[{"type":"command","command":"say done"}]}]}}""");

        var result = await Cli().RunAsync("setup", "claude");
        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("claude plugin install eventbus@eventbus", "setup says the plugin exists");

        var mcp = JsonNode.Parse(await File.ReadAllTextAsync(McpJson))!;
        mcp["note"]!.GetValue<int>().Should().Be(1);
        mcp["mcpServers"]!["other"]!["command"]!.GetValue<string>().Should().Be("x");
        mcp["mcpServers"]!["eventbus"]!.ToJsonString().Should().Be($$"""{"type":"http","url":"{{fixture.McpUri}}"}""");
        var channel = mcp["mcpServers"]!["eventbus-channel"]!;
        channel["type"]!.GetValue<string>().Should().Be("stdio");
        channel["command"]!.GetValue<string>().Should().Be("eventbus");
        channel["args"]!.ToJsonString().Should().Be("""["channel"]""");
        channel["env"]!["EVENTBUS_URL"]!.GetValue<string>().Should().Be(fixture.McpUri.ToString());

        var settings = JsonNode.Parse(await File.ReadAllTextAsync(Settings))!;
        settings["model"]!.GetValue<string>().Should().Be("opus");
        var stop = settings["hooks"]!["Stop"]!.AsArray();
        stop[0]!["hooks"]![0]!["command"]!.GetValue<string>().Should().Be("say done");
        var commands = settings["hooks"]!.AsObject().SelectMany(e => e.Value!.AsArray()).SelectMany(g => g!["hooks"]!.AsArray()).Select(h => h!["command"]!.GetValue<string>()).ToList();
        commands.Should().Contain(c => c.StartsWith("eventbus hook session-start", StringComparison.Ordinal))
            .And.Contain(c => c.StartsWith("eventbus hook prompt", StringComparison.Ordinal))
            .And.Contain(c => c.StartsWith("eventbus hook stop", StringComparison.Ordinal))
            .And.Contain(c => c.StartsWith("eventbus hook rewake", StringComparison.Ordinal));
        settings["hooks"]!["SessionStart"]![0]!["matcher"]!.GetValue<string>().Should().Be("startup|resume|clear|compact");
        stop.SelectMany(g => g!["hooks"]!.AsArray()).Single(h => h!["command"]!.GetValue<string>().StartsWith("eventbus hook rewake", StringComparison.Ordinal))!["asyncRewake"]!.GetValue<bool>().Should().BeTrue();

        var mcpBefore = await File.ReadAllTextAsync(McpJson);
        var settingsBefore = await File.ReadAllTextAsync(Settings);
        var again = await Cli().RunAsync("setup", "claude");
        again.Out.Should().Contain("already up to date");
        (await File.ReadAllTextAsync(McpJson)).Should().Be(mcpBefore);
        (await File.ReadAllTextAsync(Settings)).Should().Be(settingsBefore);

        var removed = await Cli().RunAsync("setup", "claude", "--remove");
        removed.ExitCode.Should().Be(0);
        JsonNode.DeepEquals(JsonNode.Parse(await File.ReadAllTextAsync(McpJson)), JsonNode.Parse("""{"mcpServers":{"other":{"type":"stdio","command":"x"}},"note":1}""")).Should().BeTrue();
        JsonNode.DeepEquals(JsonNode.Parse(await File.ReadAllTextAsync(Settings)), JsonNode.Parse("""{"model":"opus","hooks":{"Stop":[{"hooks":[{"type":"command","command":"say done"}]}]}}""")).Should().BeTrue();
    }

    [Fact]
    public async Task Setup_DefaultUrl_WritesPlainCommands_AndATokenReference()
    {
        var result = await new CliRunner { CurrentDirectory = _project, HomeDirectory = _home }.With("EVENTBUS_TOKEN", "t0k").RunAsync("setup", "claude");
        result.ExitCode.Should().Be(0, result.ToString());
        var mcp = JsonNode.Parse(await File.ReadAllTextAsync(McpJson))!;
        mcp["mcpServers"]!["eventbus"]!["url"]!.GetValue<string>().Should().Be("http://127.0.0.1:8080/mcp");
        mcp["mcpServers"]!["eventbus"]!["headers"]!["Authorization"]!.GetValue<string>().Should().Be("Bearer ${EVENTBUS_TOKEN}", "the token stays in the environment");
        mcp["mcpServers"]!["eventbus-channel"]!.ToJsonString().Should().Be("""{"type":"stdio","command":"eventbus","args":["channel"]}""");
        (await File.ReadAllTextAsync(Settings)).Should().Contain("\"eventbus hook prompt\"");
    }

    [Fact]
    public async Task Setup_DryRun_PrintsTheChange_AndWritesNothing()
    {
        var result = await Cli().RunAsync("setup", "claude", "--dry-run");
        result.ExitCode.Should().Be(0);
        result.Out.Should().Contain($"--- {McpJson} (new file)").And.Contain("+       \"type\": \"http\",").And.Contain("eventbus hook stop");
        File.Exists(McpJson).Should().BeFalse();
        File.Exists(Settings).Should().BeFalse();
    }

    [Fact]
    public async Task Setup_UserScope_WritesTheUserFiles()
    {
        var result = await Cli().RunAsync("setup", "claude", "--scope", "user", "--token", "abc");
        result.ExitCode.Should().Be(0, result.ToString());
        var claudeJson = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_home, ".claude.json")))!;
        claudeJson["mcpServers"]!["eventbus"]!["headers"]!["Authorization"]!.GetValue<string>().Should().Be("Bearer abc");
        File.Exists(Path.Combine(_home, ".claude", "settings.json")).Should().BeTrue();
        File.Exists(McpJson).Should().BeFalse();
    }

    [Fact]
    public async Task Setup_AMalformedFile_IsRefused_AndLeftAsItWas()
    {
        await File.WriteAllTextAsync(McpJson, "{ not json");
        var result = await Cli().RunAsync("setup", "claude");
        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain(McpJson).And.Contain("not valid JSON");
        (await File.ReadAllTextAsync(McpJson)).Should().Be("{ not json");
    }

    [Fact]
    public async Task Doctor_AgainstAWorkingBus_AndTheConfig_Passes()
    {
        (await Cli().RunAsync("setup", "claude")).ExitCode.Should().Be(0);
        var result = await Cli().RunAsync("doctor");
        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("✔ the bus answers at").And.Contain("✔ push works").And.Contain($"uses the bus at {fixture.McpUri}");

        var json = (await Cli().RunAsync("doctor", "--json")).Json();
        json.GetProperty("ok").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Doctor_ConfigPointingElsewhere_Fails_AndSaysHowToFix()
    {
        (await new CliRunner { CurrentDirectory = _project, HomeDirectory = _home }.RunAsync("setup", "claude", "--url", "http://127.0.0.1:1/mcp")).ExitCode.Should().Be(0);
        var result = await Cli().RunAsync("doctor");
        result.ExitCode.Should().Be(1);
        result.Out.Should().Contain("✘ Claude Code (project scope").And.Contain("points at http://127.0.0.1:1/mcp").And.Contain($"eventbus setup claude --url {fixture.McpUri}");
    }

    [Fact]
    public async Task Doctor_BusDown_Fails_InPlainWords()
    {
        var result = await new CliRunner { CurrentDirectory = _project, HomeDirectory = _home }.With("EVENTBUS_URL", BusFixture.DeadUrl()).RunAsync("doctor");
        result.ExitCode.Should().Be(1);
        result.Out.Should().Contain("✘ nothing answers at").And.Contain("eventbus serve");
    }

    public void Dispose()
    {
        Directory.Delete(_project, recursive: true);
        Directory.Delete(_home, recursive: true);
    }
}
