namespace EventBus.Core.Events;

/// <summary>
/// Wakes whoever waits for new events (long-polls, SSE streams, push) after each commit. It carries no events:
/// waiters read them from the store, from their own cursor, so a missed wake-up never loses anything.
/// </summary>
public sealed class CommitSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _tip;

    /// <summary>The newest committed event id this process has seen.</summary>
    public long Tip => Interlocked.Read(ref _tip);

    /// <summary>Records a commit (from the store's writer) and wakes every waiter.</summary>
    public void Notify(long tip)
    {
        AtomicMax.Raise(ref _tip, tip);
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>
    /// Completes when an event with an id above <paramref name="after"/> is committed: true; or after
    /// <paramref name="timeout"/>: false. Holds no thread while it waits.
    /// </summary>
    public async Task<bool> WaitForAsync(long after, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = time.GetTimestamp() + (long)(timeout.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            // Take the next wake-up before looking at the tip, so a commit in between is never missed.
            var next = Volatile.Read(ref _next).Task;
            if (Tip > after)
            {
                return true;
            }

            var left = TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await next.WaitAsync(left, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return Tip > after;
            }
        }
    }
}
