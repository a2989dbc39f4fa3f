using EventBus.Cli.Client;
using EventBus.Server.Platform;

namespace EventBus.Cli.Service;

/// <summary>Per user (a systemd user unit, a LaunchAgent) or for the whole machine (a system unit, a LaunchDaemon).</summary>
internal enum ServiceScope
{
    User,
    System,
}

/// <summary>
/// What the service runs and where its files go, worked out once from the platform and the options, then rendered
/// as a systemd unit or a launchd plist and installed.
/// </summary>
internal sealed record ServicePlan(
    HostOs Os,
    ServiceScope Scope,
    IReadOnlyList<string> Command,
    string DatabasePath,
    string? DotnetRoot,
    string? RunAs,
    string DefinitionPath,
    string? LogDirectory)
{
    public const string UnitName = "eventbus.service";

    public const string Label = "dev.eventbus.server";

    /// <summary>A system unit's default data folder (systemd's <c>StateDirectory=eventbus</c>).</summary>
    public const string SystemStateDirectory = "/var/lib/eventbus";

    /// <summary>The folder the server writes to: the database's (with its WAL and the webhook-secret keys).</summary>
    public string DataDirectory => Path.GetDirectoryName(DatabasePath)!;

    /// <summary>Works out the plan for this machine; throws <see cref="CliUsageException"/> where none is possible.</summary>
    public static ServicePlan For(CliContext context, ServiceScope scope, string? host, string? port, string? db)
    {
        var platform = context.Platform;
        if (platform.Os == HostOs.Other)
        {
            throw new CliUsageException("`eventbus service` knows systemd (Linux) and launchd (macOS); run `eventbus serve` under your service manager instead.");
        }

        // Under sudo the service still belongs to the user who asked (their tool, their data), not to root.
        var runAs = scope == ServiceScope.System ? context.Environment("SUDO_USER") is { Length: > 0 } sudoUser ? sudoUser : platform.UserName : null;
        var database = db is { Length: > 0 } ? Path.GetFullPath(db, context.CurrentDirectory) : DefaultDatabase(context, platform.Os, scope);
        List<string> command = [.. ToolCommand(platform), "serve", "--db", database];
        if (host is not null)
        {
            command.AddRange(["--host", host]);
        }

        if (port is not null)
        {
            command.AddRange(["--port", port]);
        }

        var (definition, logs) = (platform.Os, scope) switch
        {
            (HostOs.Linux, ServiceScope.User) => (Path.Combine(ConfigHome(context), "systemd", "user", UnitName), (string?)null),
            (HostOs.Linux, _) => ("/etc/systemd/system/" + UnitName, null),
            (_, ServiceScope.User) => (
                Path.Combine(context.HomeDirectory, "Library", "LaunchAgents", Label + ".plist"),
                Path.Combine(context.HomeDirectory, "Library", "Logs", "eventbus")),
            _ => ($"/Library/LaunchDaemons/{Label}.plist", "/Library/Logs/eventbus"),
        };
        return new ServicePlan(platform.Os, scope, command, database, FindDotnetRoot(), runAs, definition, logs);
    }

    /// <summary>
    /// The installed <c>eventbus</c>, by its real path (links resolved): the apphost itself, or <c>dotnet eventbus.dll</c>
    /// when the command runs under the <c>dotnet</c> host (<c>dotnet run</c>, a framework-dependent launch).
    /// </summary>
    internal static IReadOnlyList<string> ToolCommand(IHostPlatform platform)
    {
        var process = platform.ProcessPath ?? throw new CliUsageException("cannot tell where the eventbus command is installed.");
        var real = File.ResolveLinkTarget(process, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(process);
        if (Path.GetFileNameWithoutExtension(real).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return [real, typeof(ServicePlan).Assembly.Location];
        }

        return [real];
    }

    /// <summary>Where the running .NET lives, so the service's apphost finds it whatever PATH the service manager gives it.</summary>
    private static string? FindDotnetRoot()
    {
        // …/shared/Microsoft.NETCore.App/<version>/ → the install root three levels up.
        var runtime = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
        var root = Directory.GetParent(Path.TrimEndingDirectorySeparator(runtime))?.Parent?.Parent?.FullName;
        return root is not null && Directory.Exists(Path.Combine(root, "shared")) ? root : null;
    }

    private static string DefaultDatabase(CliContext context, HostOs os, ServiceScope scope) => (os, scope) switch
    {
        (HostOs.Linux, ServiceScope.System) => SystemStateDirectory + "/bus.db",
        (HostOs.MacOS, ServiceScope.System) => "/usr/local/var/eventbus/bus.db",
        _ => Path.Combine(DataHome(context), "eventbus", "bus.db"),
    };

    private static string DataHome(CliContext context) =>
        context.Environment("XDG_DATA_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(context.HomeDirectory, ".local", "share");

    private static string ConfigHome(CliContext context) =>
        context.Environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(context.HomeDirectory, ".config");
}
