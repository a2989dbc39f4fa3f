using System.Text.RegularExpressions;
using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary>The built binary as a process: stdin pipes, exit codes, and <c>eventbus serve</c>.</summary>
public sealed partial class ProcessTests(BusFixture fixture) : IClassFixture<BusFixture>
{
    [Fact]
    public async Task PublishStdin_TopicLines_BecomeEvents_OnePerLine()
    {
        var prefix = BusFixture.Unique("mqtt") + ":";
        var env = new Dictionary<string, string?> { ["EVENTBUS_URL"] = fixture.McpUri.ToString() };
        var result = await CliProcess.RunAsync(
            ["publish", "--stdin", "--channel-from-topic", prefix, "--type", "mqtt_message", "--json"], env,
            stdin: "plant/boiler/temp 81.5\nplant/pump {\"rpm\":1200}\n\n{\"not\":\"topic\"}\n");
        result.ExitCode.Should().Be(0, result.ToString());
        var published = result.JsonLines();
        published.Select(p => p.GetProperty("channel").GetString()).Should().Equal($"{prefix}plant/boiler/temp", $"{prefix}plant/pump", $"{prefix}{{\"not\":\"topic\"}}");
        published.Select(p => p.GetProperty("payload").GetString()).Should().Equal("81.5", "{\"rpm\":1200}", "");
    }

    [Fact]
    public async Task PublishStdin_JsonEvents_UseTheirOwnFields_BadLinesAreReported_Exit1()
    {
        var channel = BusFixture.Unique("json");
        var env = new Dictionary<string, string?> { ["EVENTBUS_URL"] = fixture.McpUri.ToString() };
        var result = await CliProcess.RunAsync(
            ["publish", "--stdin", "--channel", channel, "--json"], env,
            stdin: $"{{\"event_type\":\"ci_failed\",\"payload\":{{\"job\":7}},\"title\":\"CI\"}}\nplain text\n{{\"event_type\":\"x\"}}\n");
        result.ExitCode.Should().Be(1, "one line had no payload");
        result.Error.Should().Contain("line 3").And.Contain("payload");
        var published = result.JsonLines();
        published[0].GetProperty("event_type").GetString().Should().Be("ci_failed");
        published[0].GetProperty("payload").GetString().Should().Be("{\"job\":7}");
        published[0].GetProperty("channel").GetString().Should().Be(channel);
        published[1].GetProperty("event_type").GetString().Should().Be("message");
        published[1].GetProperty("payload").GetString().Should().Be("plain text");
    }

    [Fact]
    public async Task ExitCodes_AsAProcess_Are0_1_2()
    {
        var env = new Dictionary<string, string?> { ["EVENTBUS_URL"] = fixture.McpUri.ToString() };
        (await CliProcess.RunAsync(["channels"], env)).ExitCode.Should().Be(0);
        (await CliProcess.RunAsync(["events", "--resume"], env)).ExitCode.Should().Be(2);
        (await CliProcess.RunAsync(["--nope"], env)).ExitCode.Should().Be(2);
        var down = await CliProcess.RunAsync(["sessions"], new Dictionary<string, string?> { ["AGENT_EVENT_BUS_URL"] = BusFixture.DeadUrl() });
        down.ExitCode.Should().Be(1);
        down.Error.Should().Contain("the bus is down at").And.Contain("`eventbus serve`");
    }

    [Fact]
    public async Task Serve_RunsTheServer_WithTheMakeRunOptions()
    {
        var directory = Directory.CreateTempSubdirectory("eventbus-serve-").FullName;
        using var serve = CliProcess.Start(["serve", "--port", "0", "--db", Path.Combine(directory, "bus.db"), "--EventBus:SessionTtl=02:00:00"]);
        try
        {
            string? line;
            Match match;
            do
            {
                line = await serve.StandardOutput.ReadLineAsync(TestTimeouts.Token());
                line.Should().NotBeNull("serve should log where it listens; stderr: " + (serve.HasExited ? await serve.StandardError.ReadToEndAsync() : ""));
                match = ListeningOn().Match(line!);
            }
            while (!match.Success);

            var url = $"{match.Groups[1].Value}/mcp";
            var result = await new CliRunner(new Uri(url)).RunAsync("publish", "--type", "t", "--payload", "served");
            result.ExitCode.Should().Be(0, result.ToString());
            line.Should().Contain(Path.Combine(directory, "bus.db"));
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync(TestTimeouts.Token());
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_BadOption_Exits2_WithTheServersMessage()
    {
        var result = await CliProcess.RunAsync(["serve", "--port", "99999"]);
        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("EventBus:Port must be between 0 and 65535");
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
