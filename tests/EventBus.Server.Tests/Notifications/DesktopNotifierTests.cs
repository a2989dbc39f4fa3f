using EventBus.Server.Platform;
using EventBus.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace EventBus.Server.Tests.Notifications;

/// <summary>The <c>notify</c> tool on each OS, through the platform seam: which command line would run.</summary>
public sealed class DesktopNotifierTests
{
    [Fact]
    public async Task Notify_OnLinuxDesktop_RunsNotifySend()
    {
        var platform = new FakePlatform(HostOs.Linux) { Environment = { ["DISPLAY"] = ":0" } };

        var (shown, ran) = await NotifyAsync(platform, "Build", "done", sound: true);

        shown.Should().BeTrue();
        ran.Should().ContainSingle().Which.Should().BeEquivalentTo(new CommandLine(
            "notify-send", ["--app-name=EventBus", "--hint=string:sound-name:message-new-instant", "--", "Build", "done"]));
    }

    [Fact]
    public async Task Notify_OnLinuxWithoutDesktop_ShowsNothingAndSaysSo()
    {
        var (shown, ran) = await NotifyAsync(new FakePlatform(HostOs.Linux), "Build", "done", sound: false);

        shown.Should().BeFalse();
        ran.Should().BeEmpty();
    }

    [Fact]
    public async Task Notify_OnMacWithTerminalNotifier_RunsIt()
    {
        var platform = new FakePlatform(HostOs.MacOS) { Programs = { ["terminal-notifier"] = "/opt/homebrew/bin/terminal-notifier" } };

        var (shown, ran) = await NotifyAsync(platform, "Build", "done", sound: true);

        shown.Should().BeTrue();
        ran.Should().ContainSingle().Which.Should().BeEquivalentTo(new CommandLine(
            "/opt/homebrew/bin/terminal-notifier", ["-title", "Build", "-message", "done", "-group", "eventbus", "-sound", "default"]));
    }

    [Fact]
    public async Task Notify_OnMacWithoutTerminalNotifier_RunsOsascriptWithQuotedStrings()
    {
        var platform = new FakePlatform(HostOs.MacOS);

        var (shown, ran) = await NotifyAsync(platform, "Say \"hi\"", "back\\slash \" & return", sound: false);

        shown.Should().BeTrue();
        ran.Should().ContainSingle().Which.Should().BeEquivalentTo(new CommandLine(
            "osascript", ["-e", "display notification \"back\\\\slash \\\" & return\" with title \"Say \\\"hi\\\"\""]));
    }

    [Fact]
    public async Task Notify_WhenTheCommandFails_ReportsNotShown()
    {
        var platform = new FakePlatform(HostOs.MacOS) { Run = _ => new CommandResult(1, "", "execution error") };

        var (shown, _) = await NotifyAsync(platform, "t", "m", sound: false);

        shown.Should().BeFalse();
    }

    /// <summary>Calls the <c>notify</c> tool on a real host whose platform is <paramref name="platform"/>.</summary>
    private static async Task<(bool Shown, IReadOnlyList<CommandLine> Ran)> NotifyAsync(FakePlatform platform, string title, string message, bool sound)
    {
        await using var host = await BusHost.StartAsync(services => services.AddSingleton<IHostPlatform>(platform));
        var client = await host.ConnectAsync();
        var result = await client.CallAsync("notify", new { title, message, sound });
        return (result.GetProperty("success").GetBoolean(), platform.Ran);
    }
}
