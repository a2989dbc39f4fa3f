namespace EventBus.Core.Webhooks;

/// <summary>
/// Wakes the webhook dispatcher when a commit queued deliveries, with the webhooks that got them. A hint, like
/// <see cref="Events.CommitSignal"/>: lanes read their deliveries from the store, so a missed wake-up loses nothing
/// (a lane also looks again when its retry is due).
/// </summary>
public sealed class DeliverySignal
{
    private readonly Lock _gate = new();
    private HashSet<string> _pending = new(StringComparer.Ordinal);
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Records that these webhooks have new deliveries and wakes the waiter.</summary>
    public void Notify(IReadOnlyCollection<string> webhookIds)
    {
        TaskCompletionSource wake;
        lock (_gate)
        {
            _pending.UnionWith(webhookIds);
            wake = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    /// <summary>Completes with every webhook notified since the last call, as soon as there is at least one.</summary>
    public async Task<IReadOnlyCollection<string>> WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task next;
            lock (_gate)
            {
                if (_pending.Count > 0)
                {
                    var taken = _pending;
                    _pending = new HashSet<string>(StringComparer.Ordinal);
                    return taken;
                }

                next = _next.Task;
            }

            await next.WaitAsync(cancellationToken);
        }
    }
}
