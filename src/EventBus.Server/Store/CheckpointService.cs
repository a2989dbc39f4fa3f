using EventBus.Server.Hosting;
using EventBus.Sqlite;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Store;

/// <summary>Checkpoints the SQLite WAL on a timer, so the writer never pays for a checkpoint's fsyncs.</summary>
internal sealed partial class CheckpointService(
    SqliteEventStore store, IOptions<SqliteStoreOptions> options, TimeProvider time, ILogger<CheckpointService> logger)
    : PeriodicService(time)
{
    protected override TimeSpan Interval => options.Value.CheckpointInterval;

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.CheckpointAsync(cancellationToken);
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
