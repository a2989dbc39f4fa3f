using Dapper;
using EventBus.Core.Events;
using EventBus.Core.Sessions;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, one writer that commits in groups, many concurrent readers.
/// </summary>
public sealed partial class SqliteEventStore : IEventStore, IWebhookStore, EventBus.Core.Security.ITokenStore, IAsyncDisposable
{
    private readonly SqliteStoreOptions _options;
    private readonly string _connectionString;
    private readonly ReaderPool _readers;
    private readonly SqliteFaults _faults;
    private SqliteWriter? _writer;
    private int _schemaVersion;
    private long _subscriptionsVersion;

    /// <summary>Creates the store; call <see cref="InitializeAsync"/> before use.</summary>
    /// <param name="options">Where the file is and how durable commits are.</param>
    /// <param name="committed">Called on the writer after each commit that added events, with those events in id
    /// order (wakes waiters). It must be quick and must not throw: it runs inside the write loop.</param>
    public SqliteEventStore(SqliteStoreOptions options, Action<IReadOnlyList<BusEvent>>? committed = null)
    {
        _options = options;
        Committed = committed;
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

    /// <summary>Called after each commit that added events.</summary>
    public Action<IReadOnlyList<BusEvent>>? Committed { get; set; }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(_options.Path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        SqliteConnection? connection = null;
        try
        {
            connection = OpenConnection();
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
            connection, _options.MaxGroupSize, events => Committed?.Invoke(events), webhooks => DeliveriesQueued?.Invoke(webhooks), _faults);
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

    /// <inheritdoc />
    public Task<StoreState> GetStateAsync(CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            var tip = c.ExecuteScalar<long>(Sql.Tip);
            var live = c.ExecuteScalar<int>(Sql.CountLive);
            var fault = _faults.Current;
            return new StoreState("sqlite", Path.GetFullPath(_options.Path), _schemaVersion, tip, live, _writer is not null && fault is null)
            {
                Fault = fault,
            };
        });

    /// <inheritdoc />
    public Task<PublishOutcome> PublishAsync(NewEvent newEvent, string? publisherSessionId, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            Session? publisher = null;
            if (publisherSessionId is not null)
            {
                publisher = GetSession(w, publisherSessionId);
                if (publisher is { IsLive: true })
                {
                    Touch(w, publisherSessionId, newEvent.Timestamp);
                }
            }

            return new PublishOutcome(Insert(w, newEvent), publisher);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<BusEvent>> AppendAsync(IReadOnlyList<NewEvent> newEvents, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync<IReadOnlyList<BusEvent>>(w => newEvents.Select(e => Insert(w, e)).ToList(), cancellationToken);

    /// <inheritdoc />
    public Task<RegisterOutcome> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var c = w.Connection;
            var nowMs = request.Now.ToUnixTimeMilliseconds();
            if (request.ClientId is not null)
            {
                var existing = c.QuerySingleOrDefault<SessionRow>(
                    Sql.SelectSession + " WHERE machine = @Machine AND client_id = @ClientId",
                    new { request.Machine, request.ClientId }, w.Transaction);
                if (existing is not null)
                {
                    // Checked here, in the transaction that would resume it, so no concurrent registration slips between
                    // a check and the resume. An unowned session (from before the first token) is claimed.
                    if (!request.MayResumeAnyOwner && existing.OwnerTokenId is { } owner && owner != request.OwnerTokenId)
                    {
                        var theirs = GetSession(w, existing.SessionId)!;
                        return new RegisterOutcome(theirs, false, 0, 0) { OwnedByAnother = true };
                    }

                    var tip = c.ExecuteScalar<long>(Sql.Tip, transaction: w.Transaction);
                    c.Execute(
                        """
                        UPDATE sessions SET name = @Name, cwd = @Cwd, repo = @Repo, last_heartbeat_ms = @Now,
                            deleted_at_ms = NULL, cursor = COALESCE(cursor, @Tip), owner_token_id = COALESCE(owner_token_id, @Owner)
                        WHERE session_id = @Id
                        """,
                        new { request.Name, request.Cwd, request.Repo, Now = nowMs, Tip = tip, Id = existing.SessionId, Owner = request.OwnerTokenId },
                        w.Transaction);
                    var resumed = GetSession(w, existing.SessionId)!;
                    return new RegisterOutcome(resumed, true, resumed.Cursor ?? tip, CountLive(w));
                }
            }

            var displayId = UniqueDisplayId(w, request.NextDisplayId);
            c.Execute(
                """
                INSERT INTO sessions (session_id, display_id, name, machine, cwd, repo, client_id,
                    registered_at_ms, last_heartbeat_ms, cursor, deleted_at_ms, owner_token_id)
                VALUES (@Id, @DisplayId, @Name, @Machine, @Cwd, @Repo, @ClientId, @Now, @Now, NULL, NULL, @Owner)
                """,
                new
                {
                    Id = request.NewSessionId,
                    DisplayId = displayId,
                    request.Name,
                    request.Machine,
                    request.Cwd,
                    request.Repo,
                    request.ClientId,
                    Now = nowMs,
                    Owner = request.OwnerTokenId,
                },
                w.Transaction);
            var registered = Insert(w, request.Registration);
            // Fix 1: the saved cursor starts at the session's own registration event, the tip at registration,
            // so everything published afterwards reaches its first resume read.
            c.Execute("UPDATE sessions SET cursor = @Cursor WHERE session_id = @Id",
                new { Cursor = registered.Id, Id = request.NewSessionId }, w.Transaction);
            var session = GetSession(w, request.NewSessionId)!;
            return new RegisterOutcome(session, false, registered.Id, CountLive(w));
        }, cancellationToken);

    /// <inheritdoc />
    public Task<BusEvent?> UnregisterAsync(string sessionId, DateTimeOffset now, NewEvent farewell, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var changed = w.Connection.Execute(
                "UPDATE sessions SET deleted_at_ms = @Now WHERE session_id = @Id AND deleted_at_ms IS NULL",
                new { Now = now.ToUnixTimeMilliseconds(), Id = sessionId }, w.Transaction);
            return changed == 0 ? null : Insert(w, farewell);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> ExpireSessionsAsync(
        DateTimeOffset cutoff, DateTimeOffset now, Func<Session, NewEvent> farewell, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync<IReadOnlyList<Session>>(w =>
        {
            var stale = w.Connection.Query<SessionRow>(
                    Sql.SelectSession + " WHERE deleted_at_ms IS NULL AND last_heartbeat_ms < @Cutoff",
                    new { Cutoff = cutoff.ToUnixTimeMilliseconds() }, w.Transaction)
                .Select(r => r.ToSession())
                .ToList();
            foreach (var session in stale)
            {
                w.Connection.Execute(
                    "UPDATE sessions SET deleted_at_ms = @Now WHERE session_id = @Id",
                    new { Now = now.ToUnixTimeMilliseconds(), Id = session.SessionId }, w.Transaction);
                Insert(w, farewell(session));
            }

            return stale.Select(s => s with { DeletedAt = now }).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task AdvanceCursorAsync(string sessionId, long cursor, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            // Fix 2: MAX() keeps a consuming read from ever moving the cursor backwards.
            var command = w.Command(
                """
                UPDATE sessions SET cursor = MAX(COALESCE(cursor, 0), $cursor), last_heartbeat_ms = $now
                WHERE session_id = $id AND deleted_at_ms IS NULL
                """);
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$cursor", cursor);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$id", sessionId);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    /// <inheritdoc />
    public Task TouchAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => Touch(w, sessionId, now), cancellationToken);

    /// <inheritdoc />
    public Task<AckOutcome> AckAsync(string sessionId, long cursor, bool allowRewind, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var session = GetSession(w, sessionId);
            var tip = w.Connection.ExecuteScalar<long>(Sql.Tip, transaction: w.Transaction);
            if (session is null)
            {
                return new AckOutcome(AckStatus.NotFound, null, null, tip);
            }

            if (!session.IsLive)
            {
                return new AckOutcome(AckStatus.Deleted, session, session.Cursor, tip);
            }

            if (cursor > tip)
            {
                return new AckOutcome(AckStatus.AheadOfTip, session, session.Cursor, tip);
            }

            if (session.Cursor is { } saved && cursor < saved && !allowRewind)
            {
                return new AckOutcome(AckStatus.Rewind, session, saved, tip);
            }

            w.Connection.Execute(
                "UPDATE sessions SET cursor = @Cursor, last_heartbeat_ms = @Now WHERE session_id = @Id",
                new { Cursor = cursor, Now = now.ToUnixTimeMilliseconds(), Id = sessionId }, w.Transaction);
            return new AckOutcome(AckStatus.Saved, session with { Cursor = cursor }, session.Cursor, tip);
        }, cancellationToken);

    /// <inheritdoc />
    public async Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        await Writer.ExecuteAsync(w => w.Connection.Execute(
            """
            INSERT INTO subscriptions (session_id, pattern, min_level, created_at_ms) VALUES (@SessionId, @Pattern, @Level, @Now)
            ON CONFLICT (session_id, pattern) DO UPDATE SET min_level = excluded.min_level
            """,
            new { subscription.SessionId, subscription.Pattern, Level = (int)subscription.MinLevel, Now = subscription.CreatedAt.ToUnixTimeMilliseconds() },
            w.Transaction), cancellationToken);
        Interlocked.Increment(ref _subscriptionsVersion);
    }

    /// <inheritdoc />
    public async Task<bool> UnsubscribeAsync(string sessionId, string pattern, CancellationToken cancellationToken)
    {
        var removed = await Writer.ExecuteAsync(w => w.Connection.Execute(
            "DELETE FROM subscriptions WHERE session_id = @SessionId AND pattern = @Pattern",
            new { SessionId = sessionId, Pattern = pattern }, w.Transaction) > 0, cancellationToken);
        Interlocked.Increment(ref _subscriptionsVersion);
        return removed;
    }

    /// <inheritdoc />
    public long SubscriptionsVersion => Interlocked.Read(ref _subscriptionsVersion);

    /// <inheritdoc />
    public Task<IReadOnlyList<Subscription>> ListSubscriptionsAsync(string sessionId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Subscription>>(c => c.Query<(string Pattern, long Level, long CreatedAtMs)>(
                "SELECT pattern, min_level, created_at_ms FROM subscriptions WHERE session_id = @SessionId ORDER BY pattern",
                new { SessionId = sessionId })
            .Select(r => new Subscription(sessionId, r.Pattern, (SignalLevel)r.Level, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAtMs)))
            .ToList());

    /// <inheritdoc />
    public Task AdvancePushCursorAsync(string sessionId, long cursor, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.Execute(
            "UPDATE sessions SET push_cursor = MAX(COALESCE(push_cursor, 0), @Cursor) WHERE session_id = @SessionId",
            new { Cursor = cursor, SessionId = sessionId }, w.Transaction), cancellationToken);

    /// <inheritdoc />
    public Task<Session?> GetSessionAsync(string sessionId, CancellationToken cancellationToken) =>
        ReadAsync(c => c.QuerySingleOrDefault<SessionRow>(Sql.SelectSession + " WHERE session_id = @Id", new { Id = sessionId })?.ToSession());

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> FindByClientIdAsync(string clientId, string? machine, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Session>>(c => c.Query<SessionRow>(
                Sql.SelectSession +
                """
                 WHERE client_id = @ClientId AND (@Machine IS NULL OR machine = @Machine)
                 ORDER BY deleted_at_ms IS NOT NULL, last_heartbeat_ms DESC
                """,
                new { ClientId = clientId, Machine = machine })
            .Select(r => r.ToSession())
            .ToList());

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> ListLiveSessionsAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Session>>(c => c.Query<SessionRow>(
                Sql.SelectSession + " WHERE deleted_at_ms IS NULL ORDER BY last_heartbeat_ms DESC, registered_at_ms DESC")
            .Select(r => r.ToSession())
            .ToList());

    /// <inheritdoc />
    public Task<int> CountLiveSessionsAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalar<int>(Sql.CountLive));

    /// <inheritdoc />
    public Task<long> GetTipAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalar<long>(Sql.Tip));

    /// <inheritdoc />
    public Task<EventPage> ReadEventsAsync(EventQuery query, CancellationToken cancellationToken) =>
        ReadAsync(c => EventReader.Read(c, query));

    /// <summary>Stops the writer after it has committed everything queued, and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }

        _readers.Dispose();
    }

    private SqliteWriter Writer => _writer ?? throw new InvalidOperationException("The store is not initialized (call InitializeAsync).");

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read)
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

    private static BusEvent Insert(WriteContext w, NewEvent e)
    {
        // The hottest statement: its parameters are made once and only their values set, and the new id comes from
        // SQLite's last_insert_rowid rather than a RETURNING result set (half the cost per row in a batch).
        var command = w.Command(
            """
            INSERT INTO events (event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags)
            VALUES ($type, $payload, $session, $ts, $channel, $correlation, $level, $title, $tags)
            """);
        var p = command.Parameters;
        if (p.Count == 0)
        {
            foreach (var name in (string[])["$type", "$payload", "$session", "$ts", "$channel", "$correlation", "$level", "$title", "$tags"])
            {
                p.Add(new SqliteParameter { ParameterName = name });
            }
        }

        p[0].Value = e.EventType;
        p[1].Value = e.Payload;
        p[2].Value = e.SessionId;
        p[3].Value = e.Timestamp.ToUnixTimeMilliseconds();
        p[4].Value = e.Channel;
        p[5].Value = (object?)e.CorrelationId ?? DBNull.Value;
        p[6].Value = (int)e.SignalLevel;
        p[7].Value = (object?)e.Title ?? DBNull.Value;
        p[8].Value = e.Tags is null ? DBNull.Value : EventReader.SerializeTags(e.Tags);
        command.ExecuteNonQuery();
        var id = SQLitePCL.raw.sqlite3_last_insert_rowid(w.Connection.Handle);
        Outbox.Enqueue(w, id, e.Channel, e.EventType, e.Timestamp.ToUnixTimeMilliseconds());
        var stored = new BusEvent(id, e.EventType, e.Payload, e.SessionId, e.Timestamp, e.Channel, e.CorrelationId, e.SignalLevel, e.Title, e.Tags);
        w.Inserted.Add(stored);
        return stored;
    }

    private static int Touch(WriteContext w, string sessionId, DateTimeOffset now)
    {
        var command = w.Command("UPDATE sessions SET last_heartbeat_ms = $now WHERE session_id = $id AND deleted_at_ms IS NULL");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", sessionId);
        return command.ExecuteNonQuery();
    }

    private static Session? GetSession(WriteContext w, string sessionId) =>
        w.Connection.QuerySingleOrDefault<SessionRow>(Sql.SelectSession + " WHERE session_id = @Id", new { Id = sessionId }, w.Transaction)
            ?.ToSession();

    private static int CountLive(WriteContext w) => w.Connection.ExecuteScalar<int>(Sql.CountLive, transaction: w.Transaction);

    private static string UniqueDisplayId(WriteContext w, Func<string> next)
    {
        string candidate = next();
        for (var attempt = 1; ; attempt++)
        {
            var taken = w.Connection.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM sessions WHERE display_id = @Id AND deleted_at_ms IS NULL", new { Id = candidate }, w.Transaction);
            if (taken == 0)
            {
                return candidate;
            }

            // After a few clashes the word space is crowded: add a number rather than loop forever.
            candidate = attempt < 20 ? next() : $"{next()}-{attempt}";
        }
    }
}
