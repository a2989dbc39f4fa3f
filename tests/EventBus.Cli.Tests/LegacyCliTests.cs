using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary>
/// The old agent-event-bus CLI's documented invocations, unchanged (only the program name differs), with its
/// environment variables: scripts written for it keep working.
/// </summary>
public sealed class LegacyCliTests(BusFixture fixture) : IClassFixture<BusFixture>
{
    [Fact]
    public async Task TheOldUsageExamples_AllRun_WithAgentEventBusVariables()
    {
        var cli = new CliRunner().With("AGENT_EVENT_BUS_URL", fixture.McpUri.ToString());
        var client = BusFixture.Unique("abc123");

        var register = await cli.RunAsync("register", "--name", "my-feature", "--client-id", client);
        register.ExitCode.Should().Be(0, register.ToString());
        var sessionId = register.Json().GetProperty("session_id").GetString()!;
        cli.With("AGENT_EVENT_BUS_SESSION_ID", sessionId);

        string[][] invocations =
        [
            ["sessions"],
            ["channels"],
            ["publish", "--type", "task_done", "--payload", "Finished API", "--channel", "repo:my-project"],
            ["events", "--session-id", sessionId],
            ["events", "--json", "--limit", "10", "--exclude", "session_registered,session_unregistered"],
            ["events", "--order", "asc"],
            ["events", "--channel", "repo:my-project"],
            ["events", "--session-id", sessionId, "--resume", "--order", "asc"],
            ["events", "--session-id", sessionId, "--resume", "--peek"],
            ["events", "--include", "task_completed,ci_completed"],
            ["events", "--include", "gotcha_discovered,pattern_found", "--exclude", "session_registered"],
            ["events", "--min-level", "info"],
            ["publish", "--type", "task_request", "--payload", "Review PR #42?", "--correlation-id", "review-42"],
            ["events", "--correlation-id", "review-42", "--order", "asc"],
            ["events", "--timeout", "5000", "--resume"],
            ["--url", fixture.McpUri.ToString(), "sessions"],
            ["--debug", "channels"],
        ];
        foreach (var args in invocations)
        {
            var result = await cli.RunAsync(args);
            result.ExitCode.Should().Be(0, $"`{string.Join(' ', args)}`: {result}");
        }

        var thread = (await cli.RunAsync("events", "--correlation-id", "review-42", "--order", "asc", "--json")).Json();
        thread.GetProperty("events")[0].GetProperty("payload").GetString().Should().Be("Review PR #42?");

        var unregister = await cli.RunAsync("unregister", "--client-id", client);
        unregister.ExitCode.Should().Be(0, unregister.ToString());
        unregister.Json().GetProperty("success").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Events_Json_HasTheOldKeys()
    {
        var result = await new CliRunner().With("AGENT_EVENT_BUS_URL", fixture.McpUri.ToString()).RunAsync("events", "--json", "--limit", "1");
        var json = result.Json();
        json.EnumerateObject().Select(p => p.Name).Should().Equal("events", "next_cursor", "has_more");
    }
}
