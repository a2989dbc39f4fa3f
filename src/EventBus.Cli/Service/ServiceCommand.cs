using System.CommandLine;
using EventBus.Cli.Client;
using EventBus.Server.Platform;

namespace EventBus.Cli.Service;

/// <summary>
/// <c>eventbus service install | uninstall | status</c>: runs the installed <c>eventbus serve</c> as a systemd unit
/// (Linux) or a launchd job (macOS), per user by default.
/// </summary>
internal static class ServiceCommand
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    public static Command Create(CliContext context)
    {
        var command = new Command("service", "Run the server as a service: a systemd unit on Linux, a LaunchAgent on macOS")
        {
            Install(context),
            Uninstall(context),
            Status(context),
        };
        return command;
    }

    private static Option<bool> UserOption() => new("--user") { Description = "For this user (the default): a systemd user unit, a LaunchAgent" };

    private static Option<bool> SystemOption() => new("--system") { Description = "For the whole machine, started at boot (needs root: sudo)" };

    private static Option<bool> DryRunOption() => new("--dry-run") { Description = "Print what would be written and run; change nothing" };

    private static Command Install(CliContext context)
    {
        var user = UserOption();
        var system = SystemOption();
        var dryRun = DryRunOption();
        var host = new Option<string?>("--host") { Description = "Address to listen on (default 127.0.0.1)" };
        var port = new Option<string?>("--port") { Description = "TCP port (default 8080)" };
        var db = new Option<string?>("--db") { Description = "The SQLite database (default: $XDG_DATA_HOME/eventbus/bus.db, /var/lib/eventbus/bus.db with --system)" };
        var command = new Command("install", "Write the service definition, enable it and start it (again: replaces it)")
        {
            user, system, host, port, db, dryRun,
        };
        command.SetAction(context, async run =>
        {
            var plan = ServicePlan.For(context, Scope(run, user, system), run.Get(host), run.Get(port), run.Get(db));
            var definition = plan.Os == HostOs.Linux ? SystemdUnit.Render(plan) : LaunchAgent.Render(plan);
            var steps = InstallSteps(context.Platform, plan);
            if (run.Get(dryRun))
            {
                await run.Out.WriteAsync(definition);
                await run.Error.WriteLineAsync($"eventbus: would write {plan.DefinitionPath}, then run:");
                foreach (var step in steps)
                {
                    await run.Error.WriteLineAsync("  " + step);
                }

                return CliApp.Ok;
            }

            RequireRoot(context.Platform, plan);
            Directory.CreateDirectory(Path.GetDirectoryName(plan.DefinitionPath)!);
            if (plan.DataDirectory != ServicePlan.SystemStateDirectory)
            {
                // ProtectSystem=strict needs the folder to exist before it can be made writable.
                Directory.CreateDirectory(plan.DataDirectory);
            }

            if (plan.LogDirectory is { } logs)
            {
                Directory.CreateDirectory(logs);
            }

            await File.WriteAllTextAsync(plan.DefinitionPath, definition, run.CancellationToken);
            await run.Out.WriteLineAsync($"Wrote {plan.DefinitionPath}");
            if (!await RunStepsAsync(run, steps, stopAtFailure: true))
            {
                return CliApp.Failed;
            }

            await run.Out.WriteLineAsync($"EventBus runs as a service: `{string.Join(' ', plan.Command)}`");
            await run.Out.WriteLineAsync($"Logs: {LogHint(plan)}");
            if (plan.Os == HostOs.Linux && plan.Scope == ServiceScope.User)
            {
                await run.Out.WriteLineAsync($"To keep it running while you are logged out: loginctl enable-linger {context.Platform.UserName}");
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command Uninstall(CliContext context)
    {
        var user = UserOption();
        var system = SystemOption();
        var dryRun = DryRunOption();
        var command = new Command("uninstall", "Stop the service and remove its definition (the database stays)") { user, system, dryRun };
        command.SetAction(context, async run =>
        {
            var plan = ServicePlan.For(context, Scope(run, user, system), null, null, null);
            var steps = UninstallSteps(context.Platform, plan);
            if (run.Get(dryRun))
            {
                await run.Error.WriteLineAsync($"eventbus: would run these, then remove {plan.DefinitionPath}:");
                foreach (var step in steps)
                {
                    await run.Error.WriteLineAsync("  " + step);
                }

                return CliApp.Ok;
            }

            if (!File.Exists(plan.DefinitionPath))
            {
                await run.Error.WriteLineAsync($"eventbus: no service installed ({plan.DefinitionPath} does not exist).");
                return CliApp.Failed;
            }

            RequireRoot(context.Platform, plan);
            // Stopping may fail (already stopped): remove the definition anyway.
            await RunStepsAsync(run, steps[..^(plan.Os == HostOs.Linux ? 1 : 0)], stopAtFailure: false);
            File.Delete(plan.DefinitionPath);
            await run.Out.WriteLineAsync($"Removed {plan.DefinitionPath}");
            if (plan.Os == HostOs.Linux)
            {
                await RunStepsAsync(run, steps[^1..], stopAtFailure: false);
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command Status(CliContext context)
    {
        var user = UserOption();
        var system = SystemOption();
        var command = new Command("status", "Whether the service is installed and running (systemctl status / launchctl print)") { user, system };
        command.SetAction(context, async run =>
        {
            var plan = ServicePlan.For(context, Scope(run, user, system), null, null, null);
            if (!File.Exists(plan.DefinitionPath))
            {
                await run.Out.WriteLineAsync($"Not installed ({plan.DefinitionPath} does not exist): eventbus service install{(plan.Scope == ServiceScope.System ? " --system" : "")}");
                return CliApp.Failed;
            }

            var status = StatusCommand(context.Platform, plan);
            var result = await context.Platform.RunAsync(status, CommandTimeout, run.CancellationToken);
            await run.Out.WriteLineAsync($"Installed: {plan.DefinitionPath}");
            await run.Out.WriteAsync(result.Output);
            await run.Error.WriteAsync(result.Error);
            return result.Succeeded ? CliApp.Ok : CliApp.Failed;
        });
        return command;
    }

    private static ServiceScope Scope(Invocation run, Option<bool> user, Option<bool> system) => (run.Get(user), run.Get(system)) switch
    {
        (true, true) => throw new CliUsageException("--user and --system exclude each other."),
        (_, true) => ServiceScope.System,
        _ => ServiceScope.User,
    };

    private static void RequireRoot(IHostPlatform platform, ServicePlan plan)
    {
        if (plan.Scope == ServiceScope.System && platform.UserId != 0)
        {
            throw new CliUsageException($"--system writes {plan.DefinitionPath}: run it as root (sudo {string.Join(' ', ServicePlan.ToolCommand(platform))} service …), or drop --system for a user service.");
        }
    }

    internal static IReadOnlyList<CommandLine> InstallSteps(IHostPlatform platform, ServicePlan plan)
    {
        List<CommandLine> steps = [];
        if (plan.Scope == ServiceScope.System && plan.RunAs is { } user && user != "root" && plan.DataDirectory != ServicePlan.SystemStateDirectory)
        {
            // The folder was created by root; the service runs as the user.
            steps.Add(new CommandLine("chown", [user, plan.DataDirectory]));
        }

        steps.AddRange(plan.Os == HostOs.Linux
            ? [Systemctl(plan, "daemon-reload"), Systemctl(plan, "enable", ServicePlan.UnitName), Systemctl(plan, "restart", ServicePlan.UnitName)]
            // bootout first, so that installing again replaces a loaded job (its failure when none is loaded is expected).
            : [Launchctl("bootout", Target(platform, plan)), Launchctl("bootstrap", Domain(platform, plan), plan.DefinitionPath)]);
        return steps;
    }

    internal static CommandLine[] UninstallSteps(IHostPlatform platform, ServicePlan plan) => plan.Os == HostOs.Linux
        ? [Systemctl(plan, "disable", "--now", ServicePlan.UnitName), Systemctl(plan, "daemon-reload")]
        : [Launchctl("bootout", Target(platform, plan))];

    private static CommandLine StatusCommand(IHostPlatform platform, ServicePlan plan) => plan.Os == HostOs.Linux
        ? Systemctl(plan, "status", "--no-pager", ServicePlan.UnitName)
        : Launchctl("print", Target(platform, plan));

    private static async Task<bool> RunStepsAsync(Invocation run, IReadOnlyList<CommandLine> steps, bool stopAtFailure)
    {
        foreach (var step in steps)
        {
            CommandResult result;
            try
            {
                result = await run.Context.Platform.RunAsync(step, CommandTimeout, run.CancellationToken);
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                await run.Error.WriteLineAsync($"eventbus: cannot run {step.FileName}: {ex.Message}");
                return false;
            }

            var expectedFailure = step.Arguments is ["bootout", ..];
            if (!result.Succeeded && !expectedFailure)
            {
                await run.Error.WriteLineAsync($"eventbus: `{step}` failed (exit {result.ExitCode}): {result.Error.Trim()}");
                if (stopAtFailure)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static string LogHint(ServicePlan plan) => plan.Os == HostOs.Linux
        ? $"journalctl {(plan.Scope == ServiceScope.User ? "--user " : "")}-u eventbus -f"
        : $"{plan.LogDirectory}/eventbus.log";

    private static CommandLine Systemctl(ServicePlan plan, params string[] arguments) =>
        new("systemctl", plan.Scope == ServiceScope.User ? ["--user", .. arguments] : arguments);

    private static CommandLine Launchctl(params string[] arguments) => new("launchctl", arguments);

    private static string Domain(IHostPlatform platform, ServicePlan plan) =>
        plan.Scope == ServiceScope.System ? "system" : $"gui/{platform.UserId}";

    private static string Target(IHostPlatform platform, ServicePlan plan) => $"{Domain(platform, plan)}/{ServicePlan.Label}";
}
