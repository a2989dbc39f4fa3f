using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// This node's ear on the database: a dedicated connection that LISTENs on <c>eventbus</c> and hands each
/// notification to the <see cref="CommitRelay"/>, plus a backstop read every
/// <see cref="PostgresStoreOptions.BackstopInterval"/> for a lost notification. A dropped connection is reopened
/// with backoff (250 ms doubling to 5 s), and a catch-up read follows every reconnect.
/// </summary>
internal sealed partial class PostgresListener(PostgresDatabase database, TimeProvider time, ILogger<PostgresListener> logger) : BackgroundService
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        var settings = new NpgsqlConnectionStringBuilder(database.ConnectionSettings.ConnectionString)
        {
            Pooling = false,
            KeepAlive = 5,
            ApplicationName = "eventbus-listener",
        };
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(settings.ConnectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) => database.Relay.OnNotify(e.Payload);
                await using (var listen = new NpgsqlCommand("LISTEN eventbus", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                if (!database.ListenerConnected)
                {
                    LogConnected(logger, database.Location);
                }

                database.ListenerPid = connection.ProcessID;
                database.ListenerConnected = true;
                backoff = FirstBackoff;
                database.Relay.Backstop(); // whatever committed while this node was not listening
                var last = time.GetTimestamp();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(database.Options.BackstopInterval, stoppingToken);
                    if (time.GetElapsedTime(last) >= database.Options.BackstopInterval)
                    {
                        database.Relay.Backstop();
                        last = time.GetTimestamp();
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                if (database.ListenerConnected)
                {
                    LogLost(logger, database.Location, ex.Message);
                }

                database.ListenerConnected = false;
                database.ListenerPid = null;
                try
                {
                    await Task.Delay(backoff, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        database.ListenerConnected = false;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Listening for commits of other nodes on {Location}")]
    private static partial void LogConnected(ILogger logger, string location);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning,
        Message = "Lost the notification connection to {Location} ({Error}); reconnecting with backoff, other nodes' commits arrive by the periodic read meanwhile")]
    private static partial void LogLost(ILogger logger, string location, string error);
}
