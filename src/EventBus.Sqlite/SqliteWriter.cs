using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// The single writer. Callers enqueue work; one loop drains whatever is waiting, runs it in one transaction
/// (each piece under its own savepoint, so one failure does not undo the others) and commits once: group commit.
/// Each caller's task completes only after the commit that contains its work.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<WriteOp> _queue;
    private readonly SqliteConnection _connection;
    private readonly WriteContext _context;
    private readonly int _maxGroupSize;
    private readonly Action<long>? _committed;
    private readonly Task _loop;

    public SqliteWriter(SqliteConnection connection, int maxGroupSize, Action<long>? committed)
    {
        _connection = connection;
        _maxGroupSize = maxGroupSize;
        _committed = committed;
        _context = new WriteContext(connection);
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
        var op = new WriteOp<T>(work);
        await _queue.Writer.WriteAsync(op, cancellationToken);
        // Once queued the work will run; the caller may stop waiting, but the write is not undone.
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
                batch.Add(op);
            }

            CommitGroup(batch);
        }
    }

    private void CommitGroup(List<WriteOp> batch)
    {
        try
        {
            _context.Begin();
            foreach (var op in batch)
            {
                var insertedBefore = _context.LastInsertedEventId;
                _context.Savepoint();
                try
                {
                    op.Run(_context);
                    _context.Release();
                }
                catch (Exception ex)
                {
                    _context.RollbackToSavepoint();
                    _context.LastInsertedEventId = insertedBefore;
                    op.Fail(ex);
                }
            }

            _context.Commit();
        }
        catch (Exception ex)
        {
            _context.RollbackQuietly();
            foreach (var op in batch)
            {
                op.Fail(ex);
            }

            return;
        }

        var tip = _context.LastInsertedEventId;
        foreach (var op in batch)
        {
            op.Complete();
        }

        if (tip > 0)
        {
            _committed?.Invoke(tip);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        _context.Dispose();
        await _connection.DisposeAsync();
    }

    private abstract class WriteOp
    {
        public abstract void Run(WriteContext context);

        public abstract void Complete();

        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOp<T>(Func<WriteContext, T> work) : WriteOp
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;
        private Exception? _error;

        public Task<T> Task => _tcs.Task;

        public override void Run(WriteContext context) => _result = work(context);

        public override void Complete()
        {
            if (_error is null)
            {
                _tcs.TrySetResult(_result);
            }
        }

        public override void Fail(Exception ex)
        {
            _error = ex;
            _tcs.TrySetException(ex);
        }
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

    /// <summary>The highest event id inserted in the current group (0 if none).</summary>
    public long LastInsertedEventId { get; set; }

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
        LastInsertedEventId = 0;
        _transaction = connection.BeginTransaction(deferred: false);
    }

    public void Savepoint() => Exec("SAVEPOINT op");

    public void Release() => Exec("RELEASE op");

    public void RollbackToSavepoint()
    {
        Exec("ROLLBACK TO op");
        Exec("RELEASE op");
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

    private void Exec(string sql)
    {
        var command = Command(sql);
        command.ExecuteNonQuery();
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
