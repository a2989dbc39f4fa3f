namespace EventBus.Server.Tests.Support;

/// <summary>Waits on the thing itself (never a sleep), within the one test timeout.</summary>
internal static class Waiting
{
    /// <summary>Awaits a task the code under test completes (a <see cref="TaskCompletionSource"/>, a signal).</summary>
    public static Task ForAsync(Task task) => task.WaitAsync(TestTimeouts.Default);

    /// <inheritdoc cref="ForAsync(Task)"/>
    public static Task<T> ForAsync<T>(Task<T> task) => task.WaitAsync(TestTimeouts.Default);

    /// <summary>
    /// Checks <paramref name="condition"/> each time <paramref name="nextChange"/> completes: a signal raised after the
    /// state changes (e.g. <c>CommitSignal.WaitForAsync</c>). The next change is taken before each check, so a change
    /// in between is never missed.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<CancellationToken, Task> nextChange)
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            var next = nextChange(deadline.Token);
            if (await condition())
            {
                return;
            }

            await next.WaitAsync(deadline.Token);
        }
    }

    /// <summary>Checks <paramref name="condition"/> after each commit: for state that is written with an event.</summary>
    public static Task UntilCommittedAsync(Core.Events.CommitSignal commits, Func<Task<bool>> condition) =>
        UntilAsync(condition, token => commits.WaitForAsync(commits.Tip, TestTimeouts.Default, TimeProvider.System, token));

    /// <summary>Checks <paramref name="condition"/> each time <paramref name="changes"/> is raised.</summary>
    public static Task UntilAsync(Core.Events.ChangeSignal changes, Func<bool> condition) =>
        UntilAsync(() => Task.FromResult(condition()), _ => changes.NextAsync());

    /// <inheritdoc cref="UntilAsync(Core.Events.ChangeSignal, Func{bool})"/>
    public static Task UntilAsync(Core.Events.ChangeSignal changes, Func<Task<bool>> condition) =>
        UntilAsync(condition, _ => changes.NextAsync());
}
