namespace EventBus.Core.Sessions;

/// <summary>Derives a session's repo from its working directory.</summary>
public static class RepoName
{
    /// <summary>The name used when nothing can be derived.</summary>
    public const string Unknown = "unknown";

    /// <summary>
    /// The path component before <c>.worktrees</c> if present (a git worktree of that repo), else the last component;
    /// <c>unknown</c> for an empty path.
    /// </summary>
    public static string FromCwd(string? cwd)
    {
        if (string.IsNullOrWhiteSpace(cwd))
        {
            return Unknown;
        }

        var parts = cwd.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return Unknown;
        }

        var worktrees = Array.IndexOf(parts, ".worktrees");
        if (worktrees > 0)
        {
            return parts[worktrees - 1];
        }

        return worktrees == 0 ? Unknown : parts[^1];
    }
}
