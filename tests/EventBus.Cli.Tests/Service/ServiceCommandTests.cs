using System.Diagnostics;
using System.Xml.Linq;
using EventBus.Cli.Tests.Support;
using EventBus.Server.Platform;

namespace EventBus.Cli.Tests.Service;

/// <summary>
/// <c>eventbus service</c> on Linux and macOS through the platform seam: the unit passes the real
/// <c>systemd-analyze verify</c>, the plist is XML with launchd's keys, and the systemctl / launchctl command lines are
/// the ones that would run. Nothing here touches the machine's own service manager.
/// </summary>
public sealed class ServiceCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));

    public ServiceCommandTests()
    {
        Directory.CreateDirectory(_root);
    }

    private string Home => Path.Combine(_root, "home");

    /// <summary>An installed tool: an executable file (systemd-analyze checks that ExecStart's program exists and runs).</summary>
    private string Tool()
    {
        var path = Path.Combine(_root, "tools", "eventbus");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\nexit 0\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    private CliRunner Cli(FakePlatform platform) => new() { HomeDirectory = Home, Platform = platform };

    [Fact]
    public async Task InstallDryRun_OnLinux_PrintsAUserUnitThatRunsTheInstalledTool()
    {
        var tool = Tool();
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = tool };

        var result = await Cli(platform).RunAsync("service", "install", "--dry-run", "--port", "8090");

        result.ExitCode.Should().Be(0, result.ToString());
        var db = Path.Combine(Home, ".local", "share", "eventbus", "bus.db");
        result.Out.Should().Contain($"ExecStart={tool} serve --db {db} --port 8090")
            .And.Contain("Restart=on-failure")
            .And.Contain("NoNewPrivileges=yes")
            .And.Contain("WantedBy=default.target");
        result.Error.Should().Contain(Path.Combine(Home, ".config", "systemd", "user", "eventbus.service"))
            .And.Contain("systemctl --user enable eventbus.service");
        platform.Ran.Should().BeEmpty("a dry run changes nothing");
        File.Exists(Path.Combine(Home, ".config", "systemd", "user", "eventbus.service")).Should().BeFalse();
    }

    [Fact]
    public async Task InstallDryRun_UsesTheXdgDataFolder()
    {
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = Tool() };

        var result = await Cli(platform).With("XDG_DATA_HOME", Path.Combine(_root, "data")).RunAsync("service", "install", "--dry-run");

        result.Out.Should().Contain($"--db {Path.Combine(_root, "data", "eventbus", "bus.db")}");
    }

    [Theory]
    [InlineData("--user", false)]
    [InlineData("--user", true)]
    [InlineData("--system", false)]
    [InlineData("--system", true)]
    public async Task Unit_PassesSystemdAnalyzeVerify(string scope, bool ownDatabase)
    {
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = Tool(), UserName = Environment.UserName };
        string[] db = ownDatabase ? ["--db", Path.Combine(_root, "my data", "bus.db")] : [];
        var result = await Cli(platform).RunAsync(["service", "install", scope, "--dry-run", "--host", "0.0.0.0", .. db], stdin: null);
        result.ExitCode.Should().Be(0, result.ToString());
        var unit = Path.Combine(_root, "eventbus.service");
        await File.WriteAllTextAsync(unit, result.Out);

        var (exit, output) = await SystemdAnalyzeVerifyAsync(unit);

        exit.Should().Be(0, output);
        output.Should().NotContain("eventbus.service:", "systemd-analyze finds nothing to say about our unit:\n" + output + "\n" + result.Out);
    }

    [Fact]
    public async Task Install_OnLinux_WritesTheUnitAndEnablesIt()
    {
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = Tool() };

        var result = await Cli(platform).RunAsync("service", "install");

        result.ExitCode.Should().Be(0, result.ToString());
        var unit = Path.Combine(Home, ".config", "systemd", "user", "eventbus.service");
        File.ReadAllText(unit).Should().Contain("ExecStart=");
        platform.Ran.Select(c => c.ToString()).Should().Equal(
            "systemctl --user daemon-reload",
            "systemctl --user enable eventbus.service",
            "systemctl --user restart eventbus.service");
        result.Out.Should().Contain("journalctl --user -u eventbus");
    }

    [Fact]
    public async Task InstallSystem_AsNonRoot_IsRefused_AndWritesNothing()
    {
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = Tool(), UserId = 1000 };

        var result = await Cli(platform).RunAsync("service", "install", "--system");

        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("root");
        platform.Ran.Should().BeEmpty();
    }

    [Fact]
    public async Task InstallSystemDryRun_UnderSudo_RunsAsTheCallingUserWithStateUnderVarLib()
    {
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = Tool(), UserId = 0, UserName = "root" };

        var result = await Cli(platform).With("SUDO_USER", "dev").RunAsync("service", "install", "--system", "--dry-run");

        result.Out.Should().Contain("User=dev").And.Contain("--db /var/lib/eventbus/bus.db")
            .And.Contain("ProtectSystem=strict").And.Contain("PrivateTmp=yes").And.Contain("StateDirectory=eventbus")
            .And.Contain("WantedBy=multi-user.target");
        result.Error.Should().Contain("/etc/systemd/system/eventbus.service").And.Contain("systemctl daemon-reload");

        var own = await Cli(platform).With("SUDO_USER", "dev").RunAsync("service", "install", "--system", "--dry-run", "--db", "/srv/bus/bus.db");
        own.Out.Should().Contain("ReadWritePaths=/srv/bus");
        own.Error.Should().Contain("chown dev /srv/bus", "the installer creates the folder as root; the service runs as dev");
    }

    [Fact]
    public async Task Uninstall_OnLinux_DisablesAndRemovesTheUnit()
    {
        var platform = new FakePlatform(HostOs.Linux) { ProcessPath = Tool() };
        (await Cli(platform).RunAsync("service", "install")).ExitCode.Should().Be(0);
        var unit = Path.Combine(Home, ".config", "systemd", "user", "eventbus.service");

        var result = await Cli(platform).RunAsync("service", "uninstall");

        result.ExitCode.Should().Be(0, result.ToString());
        File.Exists(unit).Should().BeFalse();
        platform.Ran.Select(c => c.ToString()).Should().EndWith(["systemctl --user disable --now eventbus.service", "systemctl --user daemon-reload"]);
    }

    [Fact]
    public async Task Status_ShowsSystemctlStatus_OrSaysNotInstalled()
    {
        var platform = new FakePlatform(HostOs.Linux)
        {
            ProcessPath = Tool(),
            Run = c => new CommandResult(c.Arguments.Contains("status") ? 3 : 0, c.Arguments.Contains("status") ? "Active: inactive (dead)\n" : "", ""),
        };

        var missing = await Cli(platform).RunAsync("service", "status");
        missing.ExitCode.Should().Be(1);
        missing.Out.Should().Contain("Not installed");

        await Cli(platform).RunAsync("service", "install");
        var status = await Cli(platform).RunAsync("service", "status");
        status.ExitCode.Should().Be(1, "systemctl status says inactive");
        status.Out.Should().Contain("Active: inactive (dead)");
        platform.Ran.Last().ToString().Should().Be("systemctl --user status --no-pager eventbus.service");
    }

    [Fact]
    public async Task InstallDryRun_OnMac_PrintsALaunchAgentPlist()
    {
        var tool = Tool();
        var platform = new FakePlatform(HostOs.MacOS) { ProcessPath = tool, UserId = 501 };

        var result = await Cli(platform).RunAsync("service", "install", "--dry-run", "--port", "8090");

        result.ExitCode.Should().Be(0, result.ToString());
        var plist = XDocument.Parse(result.Out);
        plist.DocumentType!.Name.Should().Be("plist");
        var dict = Dict(plist.Root!.Element("dict")!);
        dict.Keys.Should().Contain(["Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "StandardOutPath", "StandardErrorPath"]);
        dict["Label"].Value.Should().Be("dev.eventbus.server");
        dict["ProgramArguments"].Elements("string").Select(e => e.Value).Should().Equal(
            tool, "serve", "--db", Path.Combine(Home, ".local", "share", "eventbus", "bus.db"), "--port", "8090");
        dict["RunAtLoad"].Name.LocalName.Should().Be("true");
        Dict(dict["KeepAlive"])["SuccessfulExit"].Name.LocalName.Should().Be("false", "restarted on failure only");
        dict["StandardOutPath"].Value.Should().Be(Path.Combine(Home, "Library", "Logs", "eventbus", "eventbus.log"));
        result.Error.Should().Contain(Path.Combine(Home, "Library", "LaunchAgents", "dev.eventbus.server.plist"))
            .And.Contain("launchctl bootstrap gui/501");
    }

    [Fact]
    public async Task Install_OnMac_WritesThePlistAndBootstrapsIt()
    {
        var platform = new FakePlatform(HostOs.MacOS) { ProcessPath = Tool(), UserId = 501 };

        var result = await Cli(platform).RunAsync("service", "install");

        result.ExitCode.Should().Be(0, result.ToString());
        var plist = Path.Combine(Home, "Library", "LaunchAgents", "dev.eventbus.server.plist");
        XDocument.Load(plist).Root!.Name.LocalName.Should().Be("plist");
        Directory.Exists(Path.Combine(Home, "Library", "Logs", "eventbus")).Should().BeTrue("launchd opens the log files there");
        platform.Ran.Select(c => c.ToString()).Should().Equal(
            "launchctl bootout gui/501/dev.eventbus.server",
            $"launchctl bootstrap gui/501 {plist}");
    }

    [Fact]
    public void ToolCommand_UnderTheDotnetHost_RunsTheCliAssemblyThroughIt_AndResolvesLinks()
    {
        var dotnet = Path.Combine(_root, "sdk", "dotnet");
        Directory.CreateDirectory(Path.GetDirectoryName(dotnet)!);
        File.WriteAllText(dotnet, "");
        var link = Path.Combine(_root, "dotnet-link");
        File.CreateSymbolicLink(link, dotnet);

        var command = EventBus.Cli.Service.ServicePlan.ToolCommand(new FakePlatform(HostOs.Linux) { ProcessPath = link });

        command.Should().Equal(dotnet, typeof(CliApp).Assembly.Location);
    }

    private static Dictionary<string, XElement> Dict(XElement dict) =>
        dict.Elements("key").ToDictionary(k => k.Value, k => (XElement)k.NextNode!);

    /// <summary>Debian's systemd-analyze (make test installs the systemd package when it is missing).</summary>
    private static async Task<(int Exit, string Output)> SystemdAnalyzeVerifyAsync(string unit)
    {
        var start = new ProcessStartInfo("systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "verify", "--man=no", unit })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("systemd-analyze is missing: install Debian's systemd package (make test does).", ex);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(TestTimeouts.Token());
            var error = process.StandardError.ReadToEndAsync(TestTimeouts.Token());
            await process.WaitForExitAsync(TestTimeouts.Token());
            return (process.ExitCode, await output + await error);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
