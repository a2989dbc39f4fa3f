using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Postgres;

/// <summary>
/// One PostgreSQL database and its parts, for code that opens a bus database directly (the <c>eventbus token</c>
/// commands, tests, benchmarks). The server gets the same parts from <see cref="PostgresStoreServices.AddPostgresStore"/>.
/// </summary>
public sealed class PostgresStore : IAsyncDisposable
{
    /// <summary>Creates the store; call <see cref="InitializeAsync"/> before use.</summary>
    public PostgresStore(PostgresStoreOptions options, ICommitObserver? observer = null)
    {
        Database = new PostgresDatabase(options, observer ?? NoObserver.Instance);
        Events = new PostgresEventLog(Database);
        Webhooks = new PostgresWebhookStore(Database);
        Tokens = new PostgresTokenStore(Database);
        Positions = new PostgresPositionStore(Database);
    }

    /// <summary>Events, sessions, cursors and subscriptions.</summary>
    public PostgresEventLog Events { get; }

    /// <summary>Webhooks, the outbox and ingest keys.</summary>
    public PostgresWebhookStore Webhooks { get; }

    /// <summary>Access tokens.</summary>
    public PostgresTokenStore Tokens { get; }

    /// <summary>Consumer positions.</summary>
    public PostgresPositionStore Positions { get; }

    internal PostgresDatabase Database { get; }

    /// <summary>Connects and migrates.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => Database.InitializeAsync(cancellationToken);

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
