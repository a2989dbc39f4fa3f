using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Sqlite;

/// <summary>
/// One SQLite database and its three parts, for code that opens a bus file directly (the <c>eventbus token</c>
/// commands, tests, benchmarks). The server gets the same parts from <see cref="SqliteStoreServices.AddSqliteStore"/>.
/// </summary>
public sealed class SqliteStore : IAsyncDisposable
{
    /// <summary>Creates the store; call <see cref="InitializeAsync"/> before use.</summary>
    /// <param name="options">Where the file is and how durable commits are.</param>
    /// <param name="observer">Told after each commit; none when null.</param>
    public SqliteStore(SqliteStoreOptions options, ICommitObserver? observer = null)
    {
        Database = new SqliteDatabase(options, observer ?? NoObserver.Instance);
        Events = new SqliteEventLog(Database);
        Webhooks = new SqliteWebhookStore(Database);
        Tokens = new SqliteTokenStore(Database);
        Positions = new SqlitePositionStore(Database);
        Retention = new Retention.SqliteRetentionStore(Database);
    }

    /// <summary>Retention: deleting old events in batches, the low-water mark, usage, giving space back.</summary>
    public Retention.SqliteRetentionStore Retention { get; }

    /// <summary>Events, sessions, cursors and subscriptions.</summary>
    public SqliteEventLog Events { get; }

    /// <summary>Webhooks, the outbox and ingest keys.</summary>
    public SqliteWebhookStore Webhooks { get; }

    /// <summary>Access tokens.</summary>
    public SqliteTokenStore Tokens { get; }

    /// <summary>Consumer positions (an MQTT bridge's outbound side).</summary>
    public SqlitePositionStore Positions { get; }

    internal SqliteDatabase Database { get; }

    /// <summary>Opens the file, migrating it.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => Database.InitializeAsync(cancellationToken);

    /// <summary>Moves committed WAL frames into the database file (see <see cref="SqliteDatabase.CheckpointAsync"/>).</summary>
    public Task<(long WalFrames, long Checkpointed)> CheckpointAsync(CancellationToken cancellationToken) =>
        Database.CheckpointAsync(cancellationToken);

    /// <summary>Stops the writer after it has committed everything queued, and closes every connection.</summary>
    public ValueTask DisposeAsync() => Database.DisposeAsync();

    private sealed class NoObserver : ICommitObserver
    {
        public static readonly NoObserver Instance = new();

        public void OnCommitted(IReadOnlyList<BusEvent> events)
        {
        }

        public void OnDeliveriesQueued(IReadOnlyCollection<string> webhookIds)
        {
        }
    }
}
