namespace EventBus.Cli.Claude;

/// <summary>
/// Where the channel and the hooks keep their small per-session files (the channel's delivery cursor, the Stop
/// hook's block count, the current rewake watcher): <c>$EVENTBUS_STATE_DIR</c>, else
/// <c>$XDG_STATE_HOME/eventbus</c>, else <c>~/.local/state/eventbus</c>, else the temp folder.
/// </summary>
internal static class StateDirectory
{
    public const string Variable = "EVENTBUS_STATE_DIR";

    public static string Resolve(CliContext context)
    {
        if (context.Environment(Variable) is { Length: > 0 } own)
        {
            return own;
        }

        if (context.Environment("XDG_STATE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "eventbus");
        }

        return context.HomeDirectory is { Length: > 0 } home
            ? Path.Combine(home, ".local", "state", "eventbus")
            : Path.Combine(Path.GetTempPath(), "eventbus-state");
    }

    /// <summary>A file name made safe from any id (Claude Code session ids are UUIDs, but nothing here trusts that).</summary>
    public static string FileName(string id, string extension)
    {
        var safe = new string(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return (safe.Length > 100 ? safe[..100] : safe) + extension;
    }

    /// <summary>Writes a file atomically (a temp file renamed over it), creating the folder.</summary>
    public static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The file's text, or null when it does not exist or cannot be read.</summary>
    public static string? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
