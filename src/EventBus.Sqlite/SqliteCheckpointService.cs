using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventBus.Sqlite;

/// <summary>
/// Checkpoints the WAL on a timer, so the writer never pays for a checkpoint's fsyncs; while a full disk or a lock
/// stops writes, the same tick probes instead, so the store recovers by itself.
/// </summary>
internal sealed partial class SqliteCheckpointService(
    SqliteDatabase database, IOptions<SqliteStoreOptions> options, TimeProvider time, ILogger<SqliteCheckpointService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckpointInterval, time);
        try
        {
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

    /// <summary>One pass: a checkpoint, or a probe while writes fail.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await database.CheckpointAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A busy or failed checkpoint loses nothing (the frames stay in the WAL); the next tick retries.
            LogFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "WAL checkpoint failed; retrying on the next tick")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
