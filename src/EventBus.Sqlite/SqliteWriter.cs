using System.Threading.Channels;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// The single writer. Callers enqueue work; one loop drains whatever is waiting, runs it in one transaction
/// and commits once: group commit. A failing piece is retried alone, so it cannot undo the others.
/// Each caller's task completes only after the commit that contains its work.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<WriteOp> _queue;
    private readonly SqliteConnection _connection;
    private readonly WriteContext _context;
    private readonly int _maxGroupSize;
    private readonly ICommitObserver _observer;
    private readonly SqliteFaults _faults;
    private readonly Task _loop;

    /// <param name="connection">The writer's own connection.</param>
    /// <param name="maxGroupSize">The most writes per transaction.</param>
    /// <param name="observer">Told after a commit that added events (in id order) or queued webhook deliveries.</param>
    /// <param name="faults">Translates a full disk or a lock into <see cref="StoreUnavailableException"/> and keeps the last one.</param>
    public SqliteWriter(
        SqliteConnection connection,
        int maxGroupSize,
        ICommitObserver observer,
        SqliteFaults faults)
    {
        _connection = connection;
        _faults = faults;
        _maxGroupSize = maxGroupSize;
        _observer = observer;
        _context = new WriteContext(connection);
        _context.Routes = Outbox.LoadRoutes(connection, null);
        // Bounded and waiting (not dropping) when full: a burst slows publishers down rather than losing events.
        _queue = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(16_384)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Runs <paramref name="work"/> inside the next commit group and returns its result after the commit.</summary>
    public async Task<T> ExecuteAsync<T>(Func<WriteContext, T> work, CancellationToken cancellationToken)
    {
        var op = new WriteOp<T>(work, alone: false);
        await _queue.Writer.WriteAsync(op, cancellationToken);
        // Once queued the work will run; the caller may stop waiting, but the write is not undone.
        return await op.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the writer's connection between groups, outside any transaction (a TRUNCATE
    /// checkpoint, a probe that opens its own): nothing else writes meanwhile.
    /// </summary>
    public async Task<T> ExecuteAloneAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        var op = new WriteOp<T>(w => work(w.Connection), alone: true);
        await _queue.Writer.WriteAsync(op, cancellationToken);
        return await op.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var batch = new List<WriteOp>(_maxGroupSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxGroupSize && reader.TryRead(out var op))
            {
                if (op.Alone)
                {
                    // What came before it commits first; then it runs by itself.
                    CommitGroup(batch);
                    batch.Clear();
                    RunAlone(op);
                    continue;
                }

                batch.Add(op);
            }

            CommitGroup(batch);
        }
    }

    private void RunAlone(WriteOp op)
    {
        try
        {
            op.Run(_context); // No group is open: _context.Transaction is null.
            op.Complete();
        }
        catch (Exception ex)
        {
            op.Fail(ex);
        }
    }

    private void CommitGroup(List<WriteOp> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // Optimistic: run the whole group in one transaction. Failures are rare (a constraint, a full disk), so
        // rather than a savepoint around every write, a failed group is rolled back and each write retried alone:
        // the bad one fails by itself, the others commit.
        if (batch.Count > 1 && !TryCommit(batch, isolated: false))
        {
            foreach (var op in batch)
            {
                TryCommit([op], isolated: true);
            }

            return;
        }

        if (batch.Count == 1)
        {
            TryCommit(batch, isolated: true);
        }
    }

    /// <summary>Runs and commits <paramref name="ops"/>; when <paramref name="isolated"/>, a failure fails the op.</summary>
    private bool TryCommit(IReadOnlyList<WriteOp> ops, bool isolated)
    {
        try
        {
            _context.Begin();
            foreach (var op in ops)
            {
                op.Run(_context);
            }

            _context.Commit();
        }
        catch (Exception ex)
        {
            _context.RollbackQuietly();
            ReloadRoutesQuietly();
            // A full disk or a lock is no fault of any one write: retrying them one by one would only make each caller
            // wait again (a lock: the busy timeout each). They all fail with the reason, at once.
            var fault = _faults.Translate(ex);
            if (fault is not null)
            {
                _faults.Record(fault);
            }
            else if (!isolated)
            {
                return false;
            }

            foreach (var op in ops)
            {
                op.Fail(fault ?? ex);
            }

            return true;
        }

        _faults.Clear();
        foreach (var op in ops)
        {
            op.Complete();
        }

        if (_context.Inserted.Count > 0)
        {
            _observer.OnCommitted([.. _context.Inserted]);
        }

        if (_context.QueuedWebhooks.Count > 0)
        {
            _observer.OnDeliveriesQueued(_context.QueuedWebhooks.ToArray());
        }

        return true;
    }

    private void ReloadRoutesQuietly()
    {
        // A webhook change in the group may have swapped the routes before failing: take them from the table again.
        try
        {
            _context.Routes = Outbox.LoadRoutes(_connection, null);
        }
        catch (SqliteException)
        {
            // The database cannot be read either (locked): the routes in memory stay until the next failure or change.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        _context.Dispose();
        await _connection.DisposeAsync();
    }

    private abstract class WriteOp(bool alone)
    {
        /// <summary>Runs outside any group and transaction.</summary>
        public bool Alone { get; } = alone;

        public abstract void Run(WriteContext context);

        public abstract void Complete();

        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOp<T>(Func<WriteContext, T> work, bool alone) : WriteOp(alone)
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _tcs.Task;

        public override void Run(WriteContext context) => _result = work(context);

        public override void Complete() => _tcs.TrySetResult(_result);

        public override void Fail(Exception ex) => _tcs.TrySetException(ex);
    }
}

/// <summary>The writer's connection and transaction, with prepared commands reused across groups.</summary>
internal sealed class WriteContext(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteTransaction? _transaction;

    public SqliteConnection Connection => connection;

    /// <summary>The transaction of the current group.</summary>
    public SqliteTransaction? Transaction => _transaction;

    /// <summary>The events inserted in the current group, in id order.</summary>
    public List<BusEvent> Inserted { get; } = [];

    /// <summary>
    /// The active webhooks every inserted event is matched against (in memory: no query per event). Only the writer
    /// reads or replaces it, so webhook changes take effect for the very next write.
    /// </summary>
    public WebhookRoute[] Routes { get; set; } = [];

    /// <summary>The webhooks that got deliveries in the current group.</summary>
    public HashSet<string> QueuedWebhooks { get; } = new(StringComparer.Ordinal);

    /// <summary>A prepared command for <paramref name="sql"/>, bound to the current transaction, parameters cleared of values.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }

        command.Transaction = _transaction;
        return command;
    }

    public void Begin()
    {
        Inserted.Clear();
        QueuedWebhooks.Clear();
        _transaction = connection.BeginTransaction(deferred: false);
    }

    public void Commit()
    {
        _transaction!.Commit();
        _transaction.Dispose();
        _transaction = null;
    }

    public void RollbackQuietly()
    {
        try
        {
            _transaction?.Rollback();
        }
        catch (SqliteException)
        {
            // The transaction may already be gone (SQLite rolls back on some errors itself).
        }

        _transaction?.Dispose();
        _transaction = null;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
