using Dapper;
using EventBus.Core.Events;
using EventBus.Core.Sessions;
using EventBus.Core.Store;

namespace EventBus.Postgres;

/// <summary>
/// The PostgreSQL store's event log and sessions. Writes go through this node's group-commit writer; every group holds
/// the id counter's row lock, so writes from all nodes apply one group at a time: a sweep (session expiry) run on two
/// nodes at once does its work once, the second finding nothing left.
/// </summary>
public sealed class PostgresEventLog : IEventStore
{
    private readonly PostgresDatabase _database;
    private long _localSubscriptionChanges;

    internal PostgresEventLog(PostgresDatabase database) => _database = database;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task<StoreState> GetStateAsync(CancellationToken cancellationToken) => _database.GetStateAsync(cancellationToken);

    /// <inheritdoc />
    public Task<PublishOutcome> PublishAsync(NewEvent newEvent, string? publisherSessionId, CancellationToken cancellationToken) =>
        Writer.PublishAsync(newEvent, publisherSessionId, async w =>
        {
            Session? publisher = null;
            if (publisherSessionId is not null)
            {
                publisher = await GetSessionAsync(w, publisherSessionId);
                if (publisher is { IsLive: true })
                {
                    await TouchAsync(w, publisherSessionId, newEvent.Timestamp);
                }
            }

            return new PublishOutcome(await PgEvents.InsertAsync(w, newEvent), publisher);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<BusEvent>> AppendAsync(IReadOnlyList<NewEvent> newEvents, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync<IReadOnlyList<BusEvent>>(async w =>
        {
            var stored = new List<BusEvent>(newEvents.Count);
            foreach (var e in newEvents)
            {
                stored.Add(await PgEvents.InsertAsync(w, e));
            }

            return stored;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IngestOutcome> IngestAsync(
        NewEvent newEvent, string? idempotencyKey, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            if (idempotencyKey is not null)
            {
                var seen = await w.Connection.ExecuteScalarAsync<long?>(
                    "SELECT event_id FROM ingest_keys WHERE key = @Key AND expires_at_ms > @Now",
                    new { Key = idempotencyKey, Now = newEvent.Timestamp.ToUnixTimeMilliseconds() }, w.Transaction);
                if (seen is { } eventId && await PgEvents.ReadOneAsync(w, eventId) is { } earlier)
                {
                    return new IngestOutcome(earlier, true);
                }
            }

            var stored = await PgEvents.InsertAsync(w, newEvent);
            if (idempotencyKey is not null)
            {
                await w.Connection.ExecuteAsync(
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
        Writer.ExecuteAsync(async w =>
        {
            var c = w.Connection;
            var nowMs = request.Now.ToUnixTimeMilliseconds();
            if (request.ClientId is not null)
            {
                var existing = await c.QuerySingleOrDefaultAsync<PgSessionRow>(
                    PgSql.SelectSession + " WHERE machine = @Machine AND client_id = @ClientId",
                    new { request.Machine, request.ClientId }, w.Transaction);
                if (existing is not null)
                {
                    if (!request.MayResumeAnyOwner && existing.OwnerTokenId is { } owner && owner != request.OwnerTokenId)
                    {
                        return new RegisterOutcome(existing.ToSession(), false, 0, 0) { OwnedByAnother = true };
                    }

                    var tip = w.Tip;
                    await c.ExecuteAsync(
                        """
                        UPDATE sessions SET name = @Name, cwd = @Cwd, repo = @Repo, last_heartbeat_ms = @Now,
                            deleted_at_ms = NULL, cursor = COALESCE(cursor, @Tip), owner_token_id = COALESCE(owner_token_id, @Owner)
                        WHERE session_id = @Id
                        """,
                        new { request.Name, request.Cwd, request.Repo, Now = nowMs, Tip = tip, Id = existing.SessionId, Owner = request.OwnerTokenId },
                        w.Transaction);
                    var resumed = (await GetSessionAsync(w, existing.SessionId))!;
                    return new RegisterOutcome(resumed, true, resumed.Cursor ?? tip, await CountLiveAsync(w));
                }
            }

            var displayId = await UniqueDisplayIdAsync(w, request.NextDisplayId);
            await c.ExecuteAsync(
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
            var registered = await PgEvents.InsertAsync(w, request.Registration);
            await c.ExecuteAsync("UPDATE sessions SET cursor = @Cursor WHERE session_id = @Id",
                new { Cursor = registered.Id, Id = request.NewSessionId }, w.Transaction);
            var session = (await GetSessionAsync(w, request.NewSessionId))!;
            return new RegisterOutcome(session, false, registered.Id, await CountLiveAsync(w));
        }, cancellationToken);

    /// <inheritdoc />
    public Task<BusEvent?> UnregisterAsync(string sessionId, DateTimeOffset now, NewEvent farewell, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var changed = await w.Connection.ExecuteAsync(
                "UPDATE sessions SET deleted_at_ms = @Now WHERE session_id = @Id AND deleted_at_ms IS NULL",
                new { Now = now.ToUnixTimeMilliseconds(), Id = sessionId }, w.Transaction);
            return changed == 0 ? null : await PgEvents.InsertAsync(w, farewell);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> ExpireSessionsAsync(
        DateTimeOffset cutoff, DateTimeOffset now, Func<Session, NewEvent> farewell, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync<IReadOnlyList<Session>>(async w =>
        {
            var stale = (await w.Connection.QueryAsync<PgSessionRow>(
                    PgSql.SelectSession + " WHERE deleted_at_ms IS NULL AND last_heartbeat_ms < @Cutoff ORDER BY last_heartbeat_ms, session_id",
                    new { Cutoff = cutoff.ToUnixTimeMilliseconds() }, w.Transaction))
                .Select(r => r.ToSession())
                .ToList();
            foreach (var session in stale)
            {
                await w.Connection.ExecuteAsync(
                    "UPDATE sessions SET deleted_at_ms = @Now WHERE session_id = @Id",
                    new { Now = now.ToUnixTimeMilliseconds(), Id = session.SessionId }, w.Transaction);
                await PgEvents.InsertAsync(w, farewell(session));
            }

            return stale.Select(s => s with { DeletedAt = now }).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task AdvanceCursorAsync(string sessionId, long cursor, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.ExecuteAsync(
            """
            UPDATE sessions SET cursor = GREATEST(COALESCE(cursor, 0), @Cursor), last_heartbeat_ms = @Now
            WHERE session_id = @Id AND deleted_at_ms IS NULL
            """,
            new { Cursor = cursor, Now = now.ToUnixTimeMilliseconds(), Id = sessionId }, w.Transaction), cancellationToken);

    /// <inheritdoc />
    public Task TouchAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => TouchAsync(w, sessionId, now), cancellationToken);

    /// <inheritdoc />
    public Task<AckOutcome> AckAsync(string sessionId, long cursor, bool allowRewind, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var session = await GetSessionAsync(w, sessionId);
            var tip = w.Tip;
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

            await w.Connection.ExecuteAsync(
                "UPDATE sessions SET cursor = @Cursor, last_heartbeat_ms = @Now WHERE session_id = @Id",
                new { Cursor = cursor, Now = now.ToUnixTimeMilliseconds(), Id = sessionId }, w.Transaction);
            return new AckOutcome(AckStatus.Saved, session with { Cursor = cursor }, session.Cursor, tip);
        }, cancellationToken);

    /// <inheritdoc />
    public async Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        await Writer.ExecuteAsync(w =>
        {
            w.SubscriptionsChanged = true;
            return w.Connection.ExecuteAsync(
                """
                INSERT INTO subscriptions (session_id, pattern, min_level, created_at_ms) VALUES (@SessionId, @Pattern, @Level, @Now)
                ON CONFLICT (session_id, pattern) DO UPDATE SET min_level = excluded.min_level
                """,
                new { subscription.SessionId, subscription.Pattern, Level = (int)subscription.MinLevel, Now = subscription.CreatedAt.ToUnixTimeMilliseconds() },
                w.Transaction);
        }, cancellationToken);
        Interlocked.Increment(ref _localSubscriptionChanges);
    }

    /// <inheritdoc />
    public async Task<bool> UnsubscribeAsync(string sessionId, string pattern, CancellationToken cancellationToken)
    {
        var removed = await Writer.ExecuteAsync(async w =>
        {
            w.SubscriptionsChanged = true;
            return await w.Connection.ExecuteAsync(
                "DELETE FROM subscriptions WHERE session_id = @SessionId AND pattern = @Pattern",
                new { SessionId = sessionId, Pattern = pattern }, w.Transaction) > 0;
        }, cancellationToken);
        Interlocked.Increment(ref _localSubscriptionChanges);
        return removed;
    }

    /// <inheritdoc />
    /// <remarks>This node's changes count at once (after the commit); other nodes' when their notification arrives.</remarks>
    public long SubscriptionsVersion => Interlocked.Read(ref _localSubscriptionChanges) + _database.Relay.SubscriptionsVersion;

    /// <inheritdoc />
    public Task<IReadOnlyList<Subscription>> ListSubscriptionsAsync(string sessionId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Subscription>>(async c => (await c.QueryAsync<(string Pattern, int Level, long CreatedAtMs)>(
                "SELECT pattern, min_level, created_at_ms FROM subscriptions WHERE session_id = @SessionId ORDER BY pattern COLLATE \"C\"",
                new { SessionId = sessionId }))
            .Select(r => new Subscription(sessionId, r.Pattern, (SignalLevel)r.Level, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAtMs)))
            .ToList(), cancellationToken);

    /// <inheritdoc />
    public Task AdvancePushCursorAsync(string sessionId, long cursor, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.ExecuteAsync(
            "UPDATE sessions SET push_cursor = GREATEST(COALESCE(push_cursor, 0), @Cursor) WHERE session_id = @SessionId",
            new { Cursor = cursor, SessionId = sessionId }, w.Transaction), cancellationToken);

    /// <inheritdoc />
    public Task<Session?> GetSessionAsync(string sessionId, CancellationToken cancellationToken) =>
        ReadAsync(async c => (await c.QuerySingleOrDefaultAsync<PgSessionRow>(
            PgSql.SelectSession + " WHERE session_id = @Id", new { Id = sessionId }))?.ToSession(), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> FindByClientIdAsync(string clientId, string? machine, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Session>>(async c => (await c.QueryAsync<PgSessionRow>(
                PgSql.SelectSession +
                """
                 WHERE client_id = @ClientId AND (@Machine::text IS NULL OR machine = @Machine)
                 ORDER BY deleted_at_ms IS NOT NULL, last_heartbeat_ms DESC
                """,
                new { ClientId = clientId, Machine = machine }))
            .Select(r => r.ToSession())
            .ToList(), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> ListLiveSessionsAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Session>>(async c => (await c.QueryAsync<PgSessionRow>(
                PgSql.SelectSession + " WHERE deleted_at_ms IS NULL ORDER BY last_heartbeat_ms DESC, registered_at_ms DESC"))
            .Select(r => r.ToSession())
            .ToList(), cancellationToken);

    /// <inheritdoc />
    public Task<int> CountLiveSessionsAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalarAsync<int>(PgSql.CountLive), cancellationToken);

    /// <inheritdoc />
    public Task<long> GetTipAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalarAsync<long>(PgEvents.Tip), cancellationToken);

    /// <inheritdoc />
    public Task<EventPage> ReadEventsAsync(EventQuery query, CancellationToken cancellationToken) =>
        ReadAsync(c => PgEvents.ReadAsync(c, query), cancellationToken);

    private static Task<int> TouchAsync(PgWriteContext w, string sessionId, DateTimeOffset now) =>
        w.Connection.ExecuteAsync(
            "UPDATE sessions SET last_heartbeat_ms = @Now WHERE session_id = @Id AND deleted_at_ms IS NULL",
            new { Now = now.ToUnixTimeMilliseconds(), Id = sessionId }, w.Transaction);

    private static async Task<Session?> GetSessionAsync(PgWriteContext w, string sessionId) =>
        (await w.Connection.QuerySingleOrDefaultAsync<PgSessionRow>(
            PgSql.SelectSession + " WHERE session_id = @Id", new { Id = sessionId }, w.Transaction))?.ToSession();

    private static Task<int> CountLiveAsync(PgWriteContext w) => w.Connection.ExecuteScalarAsync<int>(PgSql.CountLive, transaction: w.Transaction);

    private static async Task<string> UniqueDisplayIdAsync(PgWriteContext w, Func<string> next)
    {
        var candidate = next();
        for (var attempt = 1; ; attempt++)
        {
            var taken = await w.Connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM sessions WHERE display_id = @Id AND deleted_at_ms IS NULL", new { Id = candidate }, w.Transaction);
            if (taken == 0)
            {
                return candidate;
            }

            candidate = attempt < 20 ? next() : $"{next()}-{attempt}";
        }
    }

    private PostgresWriter Writer => _database.Writer;

    private Task<T> ReadAsync<T>(Func<Npgsql.NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken) =>
        _database.ReadAsync(read, cancellationToken);
}
