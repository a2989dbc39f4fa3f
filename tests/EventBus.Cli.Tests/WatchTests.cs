using System.Text.Json;
using EventBus.Cli.Tests.Support;
using EventBus.Server.Hosting;
using Microsoft.AspNetCore.Builder;

namespace EventBus.Cli.Tests;

/// <summary><c>eventbus watch</c>: lines, JSON, patterns, --exec, --fifo, and reconnecting across a bus restart.</summary>
public sealed class WatchTests(BusFixture fixture) : IClassFixture<BusFixture>
{
    private CliRunner Cli() => new(fixture.McpUri);

    /// <summary>Publishes and returns the new event's id.</summary>
    private async Task<long> PublishAsync(string channel, string payload, string type = "note")
    {
        var result = await Cli().RunAsync("publish", "--type", type, "--payload", payload, "--channel", channel, "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        return result.Json().GetProperty("event_id").GetInt64();
    }

    [Fact]
    public async Task Watch_FromACursor_PrintsOneLinePerEvent_OnlyTheChannel()
    {
        var channel = BusFixture.Unique("w");
        var first = await PublishAsync(channel, "one");
        await PublishAsync(BusFixture.Unique("other"), "not this");
        await PublishAsync(channel, "two\nlines", type: "help_needed");

        var result = await Cli().RunAsync("watch", "--channel", channel, "--cursor", (first - 1).ToString(), "--count", "2");
        result.ExitCode.Should().Be(0, result.ToString());
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(2);
        lines[0].Should().Be($"[{first}] note ({channel}) [info] <anonymous> one");
        lines[1].Should().EndWith($"help_needed ({channel}) [actionable] <anonymous> two\\nlines");
    }

    [Fact]
    public async Task Watch_Json_WithAPattern_PrintsTheEventObjects()
    {
        var root = BusFixture.Unique("pat");
        var first = await PublishAsync($"{root}:a", "1");
        await PublishAsync($"{root}x:b", "no");
        await PublishAsync($"{root}:b:deep", "2");

        var result = await Cli().RunAsync("watch", "--channel", $"{root}:#", "--cursor", (first - 1).ToString(), "--count", "2", "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        result.JsonLines().Select(e => e.GetProperty("payload").GetString()).Should().Equal("1", "2");
        result.JsonLines()[0].GetProperty("id").GetInt64().Should().Be(first);
    }

    [Fact]
    public async Task Watch_MinLevel_DropsQuieterEvents()
    {
        var channel = BusFixture.Unique("lvl");
        var first = await PublishAsync(channel, "quiet");
        await PublishAsync(channel, "loud", type: "ci_failed");
        var result = await Cli().RunAsync("watch", "--channel", channel, "--cursor", (first - 1).ToString(), "--count", "1", "--min-level", "actionable", "--json");
        result.JsonLines().Single().GetProperty("payload").GetString().Should().Be("loud");
    }

    [Fact]
    public async Task Watch_Exec_RunsTheCommandPerEvent_WithTheEventOnStdin()
    {
        var channel = BusFixture.Unique("exec");
        var first = await PublishAsync(channel, "a");
        await PublishAsync(channel, "b");
        var file = Path.Combine(fixture.Bus.Directory, BusFixture.Unique("exec") + ".log");

        var result = await new CliRunner(fixture.McpUri) { CurrentDirectory = fixture.Bus.Directory }.RunAsync(
            "watch", "--channel", channel, "--cursor", (first - 1).ToString(), "--count", "2",
            "--exec", $"cat >> {file}; echo \"$EVENTBUS_EVENT_ID $EVENTBUS_EVENT_TYPE $EVENTBUS_CHANNEL\" >> {file}; echo ran");
        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Be("ran\nran\n", "the command's own output passes through");

        var lines = await File.ReadAllLinesAsync(file);
        lines.Should().HaveCount(4);
        JsonDocument.Parse(lines[0]).RootElement.GetProperty("payload").GetString().Should().Be("a");
        lines[1].Should().Be($"{first} note {channel}");
        JsonDocument.Parse(lines[2]).RootElement.GetProperty("payload").GetString().Should().Be("b");
    }

    [Fact]
    public async Task Watch_Exec_AFailingCommand_IsReported_AndTheWatchGoesOn()
    {
        var channel = BusFixture.Unique("fail");
        var first = await PublishAsync(channel, "a");
        await PublishAsync(channel, "b");
        var result = await new CliRunner(fixture.McpUri) { CurrentDirectory = fixture.Bus.Directory }
            .RunAsync("watch", "--channel", channel, "--cursor", (first - 1).ToString(), "--count", "2", "--exec", "exit 3");
        result.ExitCode.Should().Be(0);
        result.Error.Should().Contain($"--exec exited with code 3 for event {first}").And.Contain($"for event {first + 1}");
    }

    [Fact]
    public async Task Watch_Fifo_WritesLinesIntoANamedPipe()
    {
        var channel = BusFixture.Unique("fifo");
        var first = await PublishAsync(channel, "into the pipe");
        await PublishAsync(channel, "second");
        var fifo = Path.Combine(fixture.Bus.Directory, BusFixture.Unique("events") + ".fifo");

        // The watch makes the FIFO itself: the directory tells when it appears.
        using var directory = new FileSystemWatcher(fixture.Bus.Directory, Path.GetFileName(fifo)) { EnableRaisingEvents = true };
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        directory.Created += (_, _) => created.TrySetResult();
        var watch = Cli().RunAsync(["watch", "--channel", channel, "--cursor", (first - 1).ToString(), "--count", "2", "--json", "--fifo", fifo], stdin: null);
        await Waiting.ForAsync(Task.WhenAny(created.Task, watch));
        if (watch.IsCompleted)
        {
            Assert.Fail("watch ended before the reader came: " + await watch);
        }

        // Opening the read end waits for the writer, like any FIFO reader.
        using var reader = new StreamReader(await Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Read)));
        var line1 = await reader.ReadLineAsync(TestTimeouts.Token());
        var line2 = await reader.ReadLineAsync(TestTimeouts.Token());
        JsonDocument.Parse(line1!).RootElement.GetProperty("payload").GetString().Should().Be("into the pipe");
        JsonDocument.Parse(line2!).RootElement.GetProperty("payload").GetString().Should().Be("second");

        var result = await watch;
        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().BeEmpty("the events went into the pipe");
    }

    [Fact]
    public async Task Watch_Fifo_OnARegularFile_IsRefused()
    {
        var file = Path.Combine(fixture.Bus.Directory, BusFixture.Unique("plain"));
        await File.WriteAllTextAsync(file, "keep me");
        var result = await Cli().RunAsync("watch", "--fifo", file);
        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("is not a named pipe");
        (await File.ReadAllTextAsync(file)).Should().Be("keep me");
    }

    [Fact]
    public async Task Watch_BadPattern_IsAUsageError()
    {
        var result = await Cli().RunAsync("watch", "--channel", "a:#:b");
        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("'#'");
    }

    [Fact]
    public async Task Watch_AcrossABusRestart_ReconnectsWithLastEventId_AndMissesNothing()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var db = Path.Combine(directory, "bus.db");
        var server = await StartServerAsync(0, db);
        var port = new Uri(EventBusApp.ListeningUrls(server).Single()).Port;
        var url = $"http://127.0.0.1:{port}/mcp";
        var cli = new CliRunner(new Uri(url));
        var channel = BusFixture.Unique("restart");

        var first = (await cli.RunAsync("publish", "--type", "t", "--payload", "before", "--channel", channel, "--json")).Json().GetProperty("event_id").GetInt64();
        using var watch = CliProcess.Start(["watch", "--channel", channel, "--cursor", (first - 1).ToString(), "--count", "3", "--json"],
            new Dictionary<string, string?> { ["EVENTBUS_URL"] = url });
        var stderr = watch.StandardError.ReadToEndAsync();
        try
        {
            var line = await watch.StandardOutput.ReadLineAsync(TestTimeouts.Token());
            JsonDocument.Parse(line!).RootElement.GetProperty("payload").GetString().Should().Be("before");

            await server.StopAsync(TestTimeouts.Token());
            await server.DisposeAsync();
            server = await StartServerAsync(port, db);

            // Published right after the restart, possibly before the watcher is back: it resumes after "before".
            await cli.RunAsync("publish", "--type", "t", "--payload", "after-1", "--channel", channel);
            await cli.RunAsync("publish", "--type", "t", "--payload", "after-2", "--channel", channel);

            var rest = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                rest.Add(JsonDocument.Parse((await watch.StandardOutput.ReadLineAsync(TestTimeouts.Token()))!).RootElement.GetProperty("payload").GetString()!);
            }

            rest.Should().Equal("after-1", "after-2");
            await watch.WaitForExitAsync(TestTimeouts.Token());
            watch.ExitCode.Should().Be(0);
            (await watch.StandardOutput.ReadToEndAsync()).Should().BeEmpty("nothing was delivered twice");
            (await stderr).Should().Contain("lost the stream").And.Contain("reconnected");
        }
        finally
        {
            if (!watch.HasExited)
            {
                watch.Kill(entireProcessTree: true);
            }

            await server.StopAsync(TestTimeouts.Token());
            await server.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<WebApplication> StartServerAsync(int port, string db)
    {
        var app = EventBusApp.Build(["--port", port.ToString(), "--db", db, "--Logging:LogLevel:Default=Warning"]);
        await app.StartEventBusAsync(TestTimeouts.Token());
        return app;
    }
}
