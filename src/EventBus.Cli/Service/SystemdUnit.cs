using System.Text;

namespace EventBus.Cli.Service;

/// <summary>The systemd unit for a <see cref="ServicePlan"/>.</summary>
internal static class SystemdUnit
{
    public static string Render(ServicePlan plan)
    {
        var system = plan.Scope == ServiceScope.System;
        var unit = new StringBuilder();
        unit.AppendLine("# Written by `eventbus service install`; `eventbus service uninstall` removes it.");
        unit.AppendLine("[Unit]");
        unit.AppendLine("Description=EventBus, the event bus for AI agent sessions");
        if (system)
        {
            unit.AppendLine("Wants=network-online.target");
            unit.AppendLine("After=network-online.target");
        }

        unit.AppendLine();
        unit.AppendLine("[Service]");
        unit.AppendLine("Type=exec");
        unit.AppendLine("ExecStart=" + string.Join(' ', plan.Command.Select(Quote)));
        if (plan.DotnetRoot is { } dotnetRoot)
        {
            unit.AppendLine("Environment=" + Quote("DOTNET_ROOT=" + dotnetRoot));
        }

        unit.AppendLine("Restart=on-failure");
        unit.AppendLine("RestartSec=2s");
        // The server logs to stdout: the journal keeps it (journalctl [--user] -u eventbus).
        if (system)
        {
            unit.AppendLine("User=" + plan.RunAs);
        }

        unit.AppendLine();
        unit.AppendLine("# Hardening. Not MemoryDenyWriteExecute: .NET's JIT writes code.");
        unit.AppendLine("NoNewPrivileges=yes");
        unit.AppendLine("RestrictSUIDSGID=yes");
        unit.AppendLine("LockPersonality=yes");
        unit.AppendLine("RestrictRealtime=yes");
        unit.AppendLine("RestrictNamespaces=yes");
        unit.AppendLine("SystemCallArchitectures=native");
        if (system)
        {
            // Mount namespaces: a system manager sets them up itself. A user manager could only through unprivileged
            // user namespaces, which some distributions restrict (the unit would then fail with 226/NAMESPACE),
            // so user units keep to the options above, which need none.
            unit.AppendLine("PrivateTmp=yes");
            unit.AppendLine("PrivateDevices=yes");
            unit.AppendLine("ProtectSystem=strict");
            unit.AppendLine("ProtectHome=read-only");
            // The default folder is systemd's to create and hand to User=; another is created by the installer.
            unit.AppendLine(plan.DataDirectory == ServicePlan.SystemStateDirectory
                ? "StateDirectory=eventbus"
                : "ReadWritePaths=" + Quote(plan.DataDirectory));
            unit.AppendLine("ProtectKernelTunables=yes");
            unit.AppendLine("ProtectKernelModules=yes");
            unit.AppendLine("ProtectControlGroups=yes");
            unit.AppendLine("ProtectClock=yes");
            unit.AppendLine("ProtectHostname=yes");
        }

        // The database and the webhook-secret keys are the user's alone.
        unit.AppendLine("UMask=0077");

        unit.AppendLine();
        unit.AppendLine("[Install]");
        unit.AppendLine("WantedBy=" + (system ? "multi-user.target" : "default.target"));
        return unit.ToString();
    }

    /// <summary>A word as systemd's command-line and assignment parsers read it: quoted when it holds a space or a quote.</summary>
    internal static string Quote(string word)
    {
        var escaped = word.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("%", "%%", StringComparison.Ordinal).Replace("$", "$$", StringComparison.Ordinal);
        return escaped.Length > 0 && escaped.All(c => !char.IsWhiteSpace(c) && c is not '"' and not '\'' and not '\\' and not ';')
            ? escaped
            : "\"" + escaped + "\"";
    }
}
