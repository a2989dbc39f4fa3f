namespace EventBus.Server.Hosting;

/// <summary>
/// A thin background loop: run <see cref="RunOnceAsync"/> every <see cref="Interval"/> on the injected clock.
/// The single pass is what tests call directly.
/// </summary>
internal abstract class PeriodicService(TimeProvider time) : BackgroundService
{
    /// <summary>Time between passes.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>Also run a pass at start-up, before the first tick.</summary>
    protected virtual bool RunAtStart => false;

    /// <summary>One pass. Exceptions other than cancellation should be handled (logged) inside.</summary>
    public abstract Task RunOnceAsync(CancellationToken cancellationToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            if (RunAtStart)
            {
                await RunOnceAsync(stoppingToken);
            }

            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
