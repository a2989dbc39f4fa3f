using System.Threading.Channels;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// This node's writer: callers enqueue work, one loop drains whatever is waiting, runs it in one transaction and
/// commits once (group commit); each caller is answered after the commit that holds its work. Every group first
/// takes the <c>event_counter</c> row lock, so groups from all nodes commit one at a time and event ids commit in
/// order. A failing piece is retried alone, so it cannot undo the others.
/// </summary>
internal sealed class PostgresWriter : IAsyncDisposable
{
    private readonly Channel<WriteOp> _queue;
    private readonly NpgsqlDataSource _dataSource;
    private readonly int _maxGroupSize;
    private readonly PostgresFaults _faults;
    private readonly CommitRelay _relay;
    private readonly Task _loop;
    private PgWriteContext? _context;

    /// <param name="relay">Told before each group is sent and after it commits (with its events and queued webhooks) or fails.</param>
    public PostgresWriter(NpgsqlDataSource dataSource, int maxGroupSize, PostgresFaults faults, CommitRelay relay)
    {
        _dataSource = dataSource;
        _maxGroupSize = maxGroupSize;
        _faults = faults;
        _relay = relay;
        _queue = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(16_384) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        // The loop has a thread of its own and waits on PostgreSQL synchronously: the answer to a group wakes this thread
        // at once, where an async continuation would queue behind the HTTP work in the thread pool (on a busy two-core
        // machine that queue added ~0.25 ms to every group, and groups commit one at a time across all nodes).
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Runs <paramref name="work"/> inside the next commit group and returns its result after the commit.</summary>
    public async Task<T> ExecuteAsync<T>(Func<PgWriteContext, Task<T>> work, CancellationToken cancellationToken)
    {
        var op = new WriteOp<T>(work);
        await _queue.Writer.WriteAsync(op, cancellationToken);
        return await op.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Publishes one event inside the next commit group. A group made only of publishes runs as one round trip
    /// (<see cref="PgPublishGroup"/>); in a mixed group, or retried alone, <paramref name="work"/> does the same one by one.
    /// </summary>
    public async Task<PublishOutcome> PublishAsync(
        NewEvent newEvent, string? publisher, Func<PgWriteContext, Task<PublishOutcome>> work, CancellationToken cancellationToken)
    {
        var op = new PublishOp(newEvent, publisher, work);
        await _queue.Writer.WriteAsync(op, cancellationToken);
        return await op.Task.WaitAsync(cancellationToken);
    }

    private void Run()
    {
        var batch = new List<WriteOp>(_maxGroupSize);
        var reader = _queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < _maxGroupSize && reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            if (batch is [not PublishOp])
            {
                TryCommitAsync(batch, isolated: true).GetAwaiter().GetResult();
            }
            else if (!TryCommitAsync(batch, isolated: false).GetAwaiter().GetResult())
            {
                foreach (var op in batch)
                {
                    TryCommitAsync([op], isolated: true).GetAwaiter().GetResult();
                }
            }
        }
    }

    private async Task<bool> TryCommitAsync(IReadOnlyList<WriteOp> ops, bool isolated)
    {
        PgWriteContext context;
        try
        {
            context = await ContextAsync();
            _relay.LocalGroupStarting();
            if (!isolated && ops.All(op => op is PublishOp))
            {
                context.BeginBatch();
                var outcomes = PgPublishGroup.Run(context, [.. ops.Cast<PublishOp>().Select(op => (op.Event, op.Publisher))]);
                for (var i = 0; i < outcomes.Length; i++)
                {
                    ((PublishOp)ops[i]).SetResult(outcomes[i]);
                }
            }
            else
            {
                await context.BeginAsync();
                foreach (var op in ops)
                {
                    await op.RunAsync(context);
                }

                await context.CommitAsync();
            }
        }
        catch (Exception ex)
        {
            _relay.OnLocalFailure();
            await RollbackQuietlyAsync();
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

        _relay.OnLocalCommit(context);
        return true;
    }

    private async Task<PgWriteContext> ContextAsync()
    {
        if (_context is { Connection.FullState: System.Data.ConnectionState.Open })
        {
            return _context;
        }

        if (_context is not null)
        {
            await _context.DisposeAsync();
            _context = null;
        }

        var connection = await _dataSource.OpenConnectionAsync();
        try
        {
            // The group statement's plan does not depend on its values: plan it once, not for each group.
            await using var generic = new NpgsqlCommand("SET plan_cache_mode = force_generic_plan", connection);
            await generic.ExecuteNonQueryAsync();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        _context = new PgWriteContext(connection);
        return _context;
    }

    private async Task RollbackQuietlyAsync()
    {
        if (_context is null)
        {
            return;
        }

        try
        {
            await _context.RollbackAsync();
        }
        catch (Exception)
        {
            // A broken connection: it is replaced before the next group.
            await _context.DisposeAsync();
            _context = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        if (_context is not null)
        {
            await _context.DisposeAsync();
        }
    }

    private abstract class WriteOp
    {
        public abstract Task RunAsync(PgWriteContext context);

        public abstract void Complete();

        public abstract void Fail(Exception ex);
    }

    private class WriteOp<T>(Func<PgWriteContext, Task<T>> work) : WriteOp
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _tcs.Task;

        public void SetResult(T result) => _result = result;

        public override async Task RunAsync(PgWriteContext context) => _result = await work(context);

        public override void Complete() => _tcs.TrySetResult(_result);

        public override void Fail(Exception ex) => _tcs.TrySetException(ex);
    }

    private sealed class PublishOp(NewEvent newEvent, string? publisher, Func<PgWriteContext, Task<PublishOutcome>> work)
        : WriteOp<PublishOutcome>(work)
    {
        public NewEvent Event => newEvent;

        public string? Publisher => publisher;
    }
}

/// <summary>The writer's connection and the current group's transaction, ids, inserted events and queued webhooks.</summary>
internal sealed class PgWriteContext(NpgsqlConnection connection) : IAsyncDisposable
{
    private NpgsqlTransaction? _transaction;
    private long _startId;
    private long _lastId;

    public NpgsqlConnection Connection => connection;

    public NpgsqlTransaction? Transaction => _transaction;

    /// <summary>The events inserted in the current group, in id order.</summary>
    public List<BusEvent> Inserted { get; } = [];

    /// <summary>The webhooks that got deliveries in the current group.</summary>
    public HashSet<string> QueuedWebhooks { get; } = new(StringComparer.Ordinal);

    /// <summary>Set when the group changed subscriptions: other nodes are told to reload theirs.</summary>
    public bool SubscriptionsChanged { get; set; }

    /// <summary>The newest committed id, as of the group's start (the counter is locked, so no other node adds any).</summary>
    public long Tip => _lastId;

    /// <summary>The id the next event in this group gets.</summary>
    public long NextId() => ++_lastId;

    public NpgsqlCommand Command(string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _transaction;
        return command;
    }

    /// <summary>Starts a group that runs as one batch (an implicit transaction, no BEGIN/COMMIT of its own).</summary>
    public void BeginBatch()
    {
        Inserted.Clear();
        QueuedWebhooks.Clear();
        SubscriptionsChanged = false;
    }

    public async Task BeginAsync()
    {
        Inserted.Clear();
        QueuedWebhooks.Clear();
        SubscriptionsChanged = false;
        _transaction = await connection.BeginTransactionAsync();
        await using var command = Command("SELECT last_id FROM event_counter FOR UPDATE");
        _startId = _lastId = (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task CommitAsync()
    {
        if (_lastId != _startId || SubscriptionsChanged)
        {
            // NOTIFY is delivered at commit, and only if the transaction commits: a wake-up, never the data.
            await using var command = Command(
                """
                UPDATE event_counter SET last_id = @last;
                SELECT pg_notify('eventbus', CASE WHEN @subs THEN 's' ELSE 'e' END || ':' || @last);
                """);
            command.Parameters.AddWithValue("last", _lastId);
            command.Parameters.AddWithValue("subs", SubscriptionsChanged);
            await command.ExecuteNonQueryAsync();
        }

        await _transaction!.CommitAsync();
        await _transaction.DisposeAsync();
        _transaction = null;
    }

    public async Task RollbackAsync()
    {
        if (_transaction is null)
        {
            return;
        }

        try
        {
            await _transaction.RollbackAsync();
        }
        finally
        {
            await _transaction.DisposeAsync();
            _transaction = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
        }

        await connection.DisposeAsync();
    }
}
