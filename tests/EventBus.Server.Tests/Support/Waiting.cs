namespace EventBus.Server.Tests.Support;

/// <summary>Waits on the thing itself (never a sleep), within the one test timeout.</summary>
internal static class Waiting
{
    public static async Task UntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (!await condition())
        {
            deadline.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }
}
