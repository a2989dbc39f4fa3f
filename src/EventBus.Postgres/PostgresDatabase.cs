using Dapper;
using EventBus.Core.Store;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// The database underneath the PostgreSQL store's parts: a pooled data source for reads, migrations under an advisory
/// lock, this node's group-commit writer, and the relay that tells the <see cref="ICommitObserver"/> about commits from
/// this node and (through <see cref="PostgresListener"/>) from every other node.
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private bool _listenerConnected;

    private readonly PostgresStoreOptions _options;
    private readonly NpgsqlConnectionStringBuilder _connection;
    private readonly PostgresFaults _faults;
    private PostgresWriter? _writer;
    private int _schemaVersion;

    public PostgresDatabase(PostgresStoreOptions options, ICommitObserver observer)
    {
        _options = options;
        _connection = PostgresUrl.Parse(options.Path);
        _connection.ApplicationName ??= "eventbus";
        Location = PostgresUrl.Describe(_connection);
        _faults = new PostgresFaults(Location);
        DataSource = NpgsqlDataSource.Create(_connection);
        Relay = new CommitRelay(this, observer);
        NodeId = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>host:port/database (never the password).</summary>
    public string Location { get; }

    /// <summary>This process, as it names itself in webhook leases.</summary>
    public string NodeId { get; }

    public NpgsqlDataSource DataSource { get; }

    public NpgsqlConnectionStringBuilder ConnectionSettings => _connection;

    public PostgresStoreOptions Options => _options;

    public CommitRelay Relay { get; }

    public PostgresFaults Faults => _faults;

    /// <summary>Whether the notification listener is connected (reported by /health).</summary>
    public bool ListenerConnected
    {
        get => Volatile.Read(ref _listenerConnected);
        set
        {
            Volatile.Write(ref _listenerConnected, value);
            ListenerChanged.Notify();
        }
    }

    /// <summary>The server process of the listener's connection while connected: webhook leases name it, so they end with it.</summary>
    public int? ListenerPid { get; set; }

    /// <summary>Raised after the listener connects or loses its connection.</summary>
    public EventBus.Core.Events.ChangeSignal ListenerChanged { get; } = new();

    /// <summary>Connects, applies pending migrations (once across nodes) and starts the writer. Later calls return at once.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            return;
        }

        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            _schemaVersion = await PostgresMigrations.ApplyAsync(connection, cancellationToken);
            var tip = await connection.ExecuteScalarAsync<long>("SELECT last_id FROM event_counter");
            Relay.Start(tip);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && _faults.Translate(ex) is { } fault)
        {
            throw fault;
        }

        _writer = new PostgresWriter(DataSource, _options.MaxGroupSize, _faults, Relay);
    }

    public PostgresWriter Writer => _writer ?? throw new InvalidOperationException("The store is not initialized (call InitializeAsync).");

    /// <summary>Runs <paramref name="read"/> on a pooled connection; an unreachable server becomes <see cref="StoreUnavailableException"/>.</summary>
    public async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            return await read(connection);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && _faults.Translate(ex) is { } fault)
        {
            throw fault;
        }
    }

    public async Task<StoreState> GetStateAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(async c =>
            {
                var (tip, live, size) = await c.QuerySingleAsync<(long, int, long)>(
                    """
                    SELECT (SELECT last_id FROM event_counter),
                           (SELECT COUNT(*)::int FROM sessions WHERE deleted_at_ms IS NULL),
                           pg_database_size(current_database())
                    """);
                var fault = _faults.Current;
                if (fault is { Fault: StoreFault.Unreachable })
                {
                    // It answered this read: the outage is over, whether or not anything was written since.
                    _faults.Clear();
                    fault = null;
                }

                return new StoreState("postgres", Location, _schemaVersion, tip, live, _writer is not null && fault is null)
                {
                    Fault = fault,
                    SizeBytes = size,
                };
            }, cancellationToken);
        }
        catch (StoreUnavailableException fault)
        {
            _faults.Record(fault);
            return new StoreState("postgres", Location, _schemaVersion, Relay.Watermark, 0, false) { Fault = fault };
        }
    }

    /// <summary>A clean stop hands this node's webhook lanes over at once instead of letting their leases lapse.</summary>
    private async Task ReleaseLeasesAsync()
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync();
            await connection.ExecuteAsync("DELETE FROM webhook_leases WHERE node = @Node", new { Node = NodeId });
        }
        catch (Exception ex) when (_faults.Translate(ex) is not null)
        {
            // The database is gone: the leases lapse by themselves.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
            await ReleaseLeasesAsync();
        }

        await Relay.DisposeAsync();
        await DataSource.DisposeAsync();
    }
}
