using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

public sealed class SkeletonTests : IAsyncLifetime
{
    private BusHost _bus = null!;

    public async Task InitializeAsync() => _bus = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _bus.DisposeAsync();

    [Fact]
    public async Task Publish_InProcess_AgainstRealServer_PrintsTheResult()
    {
        var result = await new CliRunner(_bus.McpUri).RunAsync("publish", "--type", "task_done", "--payload", "hi", "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        result.Json().GetProperty("event_type").GetString().Should().Be("task_done");
    }

    [Fact]
    public async Task Binary_AsProcess_ReportsBusDown_WithExitCode1()
    {
        var result = await CliProcess.RunAsync(["sessions", "--url", "http://127.0.0.1:9/mcp"]);
        result.ExitCode.Should().Be(1, result.ToString());
        result.Error.Should().Contain("the bus is down at http://127.0.0.1:9/mcp").And.Contain("eventbus serve");
    }
}
