using Dapper;
using EventBus.Core.Events;
using EventBus.Core.Sessions;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;

namespace EventBus.Sqlite;

/// <summary>The SQLite store's event log and sessions: events, sessions, cursors, push cursors and subscriptions.</summary>
public sealed class SqliteEventLog : IEventStore
{
    private readonly SqliteDatabase _database;
    private long _subscriptionsVersion;

    internal SqliteEventLog(SqliteDatabase database) => _database = database;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task<StoreState> GetStateAsync(CancellationToken cancellationToken) => _database.GetStateAsync(cancellationToken);

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
    public Task<IngestOutcome> IngestAsync(
        NewEvent newEvent, string? idempotencyKey, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            if (idempotencyKey is not null)
            {
                var seen = w.Connection.ExecuteScalar<long?>(
                    "SELECT event_id FROM ingest_keys WHERE key = @Key AND expires_at_ms > @Now",
                    new { Key = idempotencyKey, Now = newEvent.Timestamp.ToUnixTimeMilliseconds() }, w.Transaction);
                if (seen is { } eventId)
                {
                    var earlier = ReadEvent(w, eventId);
                    if (earlier is not null)
                    {
                        return new IngestOutcome(earlier, true);
                    }
                }
            }

            var stored = EventRows.Insert(w, newEvent);
            if (idempotencyKey is not null)
            {
                w.Connection.Execute(
                    """
                    INSERT INTO ingest_keys (key, event_id, expires_at_ms) VALUES (@Key, @Id, @Expires)
                    ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id, expires_at_ms = excluded.expires_at_ms
                    """,
                    new { Key = idempotencyKey, stored.Id, Expires = expiresAt.ToUnixTimeMilliseconds() }, w.Transaction);
            }

            return new IngestOutcome(stored, false);
        }, cancellationToken);

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


    private static BusEvent? ReadEvent(WriteContext w, long id)
    {
        using var command = w.Connection.CreateCommand();
        command.Transaction = w.Transaction;
        command.CommandText = $"SELECT {EventReader.ColumnsOf("e")} FROM events e WHERE e.id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? EventReader.Map(reader) : null;
    }

    private SqliteWriter Writer => _database.Writer;

    private Task<T> ReadAsync<T>(Func<Microsoft.Data.Sqlite.SqliteConnection, T> read) => _database.ReadAsync(read);

    private static BusEvent Insert(WriteContext w, NewEvent e) => EventRows.Insert(w, e);
}
