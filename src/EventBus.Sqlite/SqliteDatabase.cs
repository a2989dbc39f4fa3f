using Dapper;
using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// The database underneath the SQLite store's parts: one file in WAL mode, its migrations, one writer that commits in
/// groups (telling the <see cref="ICommitObserver"/> after each commit), a pool of readers, WAL checkpoints, and what
/// a full disk or a lock held elsewhere does to them (<see cref="SqliteFaults"/>).
/// </summary>
internal sealed class SqliteDatabase : IAsyncDisposable
{
    private readonly SqliteStoreOptions _options;
    private readonly string _connectionString;
    private readonly ReaderPool _readers;
    private readonly SqliteFaults _faults;
    private SqliteWriter? _writer;
    private FileStream? _openLock;
    private readonly ICommitObserver _observer;
    private int _schemaVersion;

    /// <summary>Creates the database; call <see cref="InitializeAsync"/> before use.</summary>
    /// <param name="options">Where the file is and how durable commits are.</param>
    /// <param name="observer">Told on the writer after each commit (wakes waiters). It must be quick and must not
    /// throw: it runs inside the write loop.</param>
    public SqliteDatabase(SqliteStoreOptions options, ICommitObserver observer)
    {
        _options = options;
        _observer = observer;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            // Connections are pooled here (configured once each), not by the provider.
            Pooling = false,
            // Microsoft.Data.Sqlite retries a busy statement on its own, each try waiting SQLite's busy_timeout, until
            // this many whole seconds have passed (30 by default): a lock held elsewhere made a write wait ~62 s, not
            // BusyTimeout. With 1 it stops after the first busy wait, so busy_timeout alone decides.
            DefaultTimeout = 1,
        }.ToString();
        _faults = new SqliteFaults(Path.GetFullPath(options.Path), options.BusyTimeout);
        _readers = new ReaderPool(OpenConnection);
    }

    /// <summary>The database file, as a full path.</summary>
    public string FilePath => Path.GetFullPath(_options.Path);

    /// <summary>Raised after a write fault is recorded and after it clears.</summary>
    public Core.Events.ChangeSignal FaultChanged => _faults.Changed;

    /// <summary>Opens the file (creating it), applies pending migrations and starts the writer. Once; later calls return at once.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(_options.Path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        SqliteConnection? connection = null;
        try
        {
            // Says "in use" to a restore (see Backup.DatabaseLock) until this database is disposed.
            _openLock ??= Backup.DatabaseLock.HoldShared(_options.Path);
            connection = OpenConnection();
            UseIncrementalVacuum(connection);
            connection.Execute("PRAGMA journal_mode = WAL;");
            _schemaVersion = Migrations.Apply(connection);
        }
        catch (Exception ex)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            throw _faults.Translate(ex) ?? ex;
        }

        // The writer never checkpoints: a checkpoint fsyncs, and every publisher in the group would wait for it.
        // CheckpointAsync (on a timer, from the host) moves WAL frames into the database off the write path.
        connection.Execute("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;");
        _writer = new SqliteWriter(
            connection, _options.MaxGroupSize, _observer, _faults);
    }

    /// <summary>
    /// Retention gives deleted space back with <c>PRAGMA incremental_vacuum</c>, which works only in INCREMENTAL
    /// auto-vacuum mode. A new file is created in it; an older one (made before retention) is switched once, which
    /// SQLite does only by rewriting the file (VACUUM): a one-time pause at the first start after the upgrade, needing
    /// free disk space the size of the database. If that fails (a full disk), the file stays as it was: deleted space is
    /// then reused for new events but not given back, and the next start tries again.
    /// </summary>
    private static void UseIncrementalVacuum(SqliteConnection connection)
    {
        if (connection.ExecuteScalar<long>("PRAGMA auto_vacuum") == 2)
        {
            return;
        }

        connection.Execute("PRAGMA auto_vacuum = INCREMENTAL");
        if (connection.ExecuteScalar<long>("SELECT COUNT(*) FROM sqlite_schema") == 0)
        {
            return; // A new file: the setting holds from its first table on.
        }

        try
        {
            connection.Execute("VACUUM");
        }
        catch (SqliteException)
        {
            // Not switched this time (no room for the copy, or the file is busy): retention still works without it.
        }
    }

    /// <summary>
    /// Copies committed WAL frames into the database file without blocking the writer (PASSIVE). If the WAL has
    /// grown past <see cref="SqliteStoreOptions.MaxWalFrames"/> (a writer that never pauses), it waits for a quiet
    /// moment and restarts the WAL (RESTART), briefly holding writers back, so the file cannot grow without bound.
    /// Returns the WAL size in frames and how many were checkpointed. While the last write failed for a full disk or
    /// a lock, it probes instead (see <see cref="ProbeAsync"/>), so the store recovers without waiting for a publish.
    /// </summary>
    public async Task<(long WalFrames, long Checkpointed)> CheckpointAsync(CancellationToken cancellationToken)
    {
        if (_faults.Current is not null)
        {
            await ProbeAsync(cancellationToken);
            return (0, 0);
        }

        return await ReadAsync(c =>
        {
            var (frames, done) = Checkpoint(c, "PASSIVE");
            if (frames > _options.MaxWalFrames)
            {
                (frames, done) = Checkpoint(c, "RESTART");
            }

            return (frames, done);
        });
    }

    /// <summary>
    /// Tries to write again after a fault: on the writer's connection, between groups, a TRUNCATE checkpoint (it moves
    /// the WAL into the database and cuts the WAL file to nothing, which is what gives a full disk its space back, even
    /// when less was freed than the WAL held), then a one-page write. Success clears the fault; a failure records the
    /// current one. Returns whether the store is writable.
    /// </summary>
    public async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Writer.ExecuteAloneAsync(c =>
            {
                Checkpoint(c, "TRUNCATE");
                // A real write (the header page, value unchanged), so a disk with no room for one page is not called writable.
                var version = c.ExecuteScalar<int>("PRAGMA user_version");
                c.Execute($"PRAGMA user_version = {version}");
                return true;
            }, cancellationToken);
            _faults.Clear();
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && _faults.Translate(ex) is { } fault)
        {
            _faults.Record(fault);
            return false;
        }
    }

    private static (long Frames, long Done) Checkpoint(SqliteConnection connection, string mode)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode})";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>What /health reports about the store.</summary>
    public Task<StoreState> GetStateAsync(CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            var tip = c.ExecuteScalar<long>(Sql.Tip);
            var live = c.ExecuteScalar<int>(Sql.CountLive);
            var fault = _faults.Current;
            var path = Path.GetFullPath(_options.Path);
            return new StoreState("sqlite", path, _schemaVersion, tip, live, _writer is not null && fault is null)
            {
                Fault = fault,
                SizeBytes = FileSize(path),
                LogBytes = FileSize(path + "-wal"),
            };
        });

    private static long? FileSize(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? file.Length : null;
    }

    /// <summary>Stops the writer after it has committed everything queued, and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }

        _readers.Dispose();
        if (_openLock is not null)
        {
            await _openLock.DisposeAsync();
            _openLock = null;
        }
    }

    public SqliteWriter Writer => _writer ?? throw new InvalidOperationException("The store is not initialized (call InitializeAsync).");

    /// <summary>Runs <paramref name="read"/> on a pooled read connection; a full disk or a lock becomes <see cref="StoreUnavailableException"/>.</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> read)
    {
        // SQLite calls are synchronous and short (indexed reads from the page cache); running them inline avoids a
        // thread hop per read. The connection comes from our own pool, already configured.
        var connection = _readers.Rent();
        try
        {
            return Task.FromResult(read(connection));
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(_faults.Translate(ex) ?? ex);
        }
        finally
        {
            _readers.Return(connection);
        }
    }

    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        var busyMs = (int)_options.BusyTimeout.TotalMilliseconds;
        var synchronous = _options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL";
        // One statement each: in one batch, a statement that waited out busy_timeout on a lock held elsewhere was
        // passed over without an error, and the next statement waited the whole timeout again.
        connection.Execute($"PRAGMA busy_timeout = {busyMs}");
        connection.Execute($"PRAGMA synchronous = {synchronous}");
        connection.Execute("PRAGMA temp_store = MEMORY");
        return connection;
    }
}
