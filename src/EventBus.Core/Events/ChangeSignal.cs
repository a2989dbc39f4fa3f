namespace EventBus.Core.Events;

/// <summary>
/// A wake-up for state that is not an event (a stream slot taken, a bridge connected, a delivery recorded): like
/// <see cref="CommitSignal"/> it carries no data, and whoever waits reads the state again. A change nobody waits for
/// costs one read of a field, so it can be raised on a hot path.
/// </summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource? _next;

    /// <summary>
    /// A task that completes at the next <see cref="Notify"/>. Take it before reading the state, so a change in between
    /// is never missed.
    /// </summary>
    public Task NextAsync()
    {
        var next = Volatile.Read(ref _next);
        if (next is not null)
        {
            return next.Task;
        }

        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _next, created, null) ?? created).Task;
    }

    /// <summary>Records that the state changed: wakes whoever waits.</summary>
    public void Notify()
    {
        if (Volatile.Read(ref _next) is not null)
        {
            Interlocked.Exchange(ref _next, null)?.TrySetResult();
        }
    }
}
