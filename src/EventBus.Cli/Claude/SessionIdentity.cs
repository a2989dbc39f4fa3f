using System.Diagnostics;

namespace EventBus.Cli.Claude;

/// <summary>
/// How a Claude Code session names itself on the bus: <c>repo/branch</c> from the working directory's git checkout
/// (the main repository's folder name, also from a worktree), else the folder's name.
/// </summary>
internal static class SessionIdentity
{
    private static readonly TimeSpan GitTimeout = TimeSpan.FromSeconds(2);

    public static async Task<string> NameAsync(string cwd, CancellationToken cancellationToken)
    {
        var folder = Path.GetFileName(Path.TrimEndingDirectorySeparator(cwd));
        var fallback = folder is { Length: > 0 } ? folder : "claude";
        if (!Directory.Exists(cwd))
        {
            return fallback;
        }

        var lines = await GitAsync(cwd, ["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir", "--abbrev-ref", "HEAD"], cancellationToken);
        if (lines is not [var top, var common, var branch, ..])
        {
            return fallback;
        }

        // In a worktree the top level is the worktree's folder; the common git dir belongs to the main checkout.
        var repo = Path.GetFileName(Path.TrimEndingDirectorySeparator(common)) == ".git"
            ? Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(common)))
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(top));
        repo = string.IsNullOrEmpty(repo) ? fallback : repo;
        return branch is { Length: > 0 } and not "HEAD" ? $"{repo}/{branch}" : repo;
    }

    private static async Task<string[]?> GitAsync(string cwd, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("git")
        {
            WorkingDirectory = cwd,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(info);
            if (process is null)
            {
                return null;
            }

            process.StandardInput.Close();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(GitTimeout);
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            _ = process.StandardError.ReadToEndAsync(deadline.Token);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            return process.ExitCode == 0 ? (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // No git on this machine.
        }
    }
}
