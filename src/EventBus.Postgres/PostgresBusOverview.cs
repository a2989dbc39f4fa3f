using Dapper;
using EventBus.Core.Sessions;
using EventBus.Core.Store;

namespace EventBus.Postgres;

/// <summary>The dashboard's summaries (<see cref="IBusOverview"/>): bounded reads only.</summary>
public sealed class PostgresBusOverview : IBusOverview
{
    private readonly PostgresDatabase _database;

    internal PostgresBusOverview(PostgresDatabase database) => _database = database;

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> ListEndedSessionsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<Session>>(async c => (await c.QueryAsync<PgSessionRow>(
                PgSql.SelectSession + " WHERE deleted_at_ms >= @Since ORDER BY deleted_at_ms DESC LIMIT @Limit",
                new { Since = since.ToUnixTimeMilliseconds(), Limit = limit }))
            .Select(r => r.ToSession())
            .ToList(), cancellationToken);

    /// <inheritdoc />
    public Task<int> CountEventsAfterAsync(long after, int cap, CancellationToken cancellationToken) =>
        _database.ReadAsync(c => c.ExecuteScalarAsync<int>(
            "SELECT COUNT(*)::int FROM (SELECT 1 FROM events WHERE id > @After LIMIT @Cap) s", new { After = after, Cap = cap }), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ChannelActivity>> CountRecentByChannelAsync(DateTimeOffset since, int window, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<ChannelActivity>>(async c => (await c.QueryAsync<(string Channel, long Events, long LastMs)>(
                """
                SELECT channel, COUNT(*), MAX(timestamp_ms) FROM
                    (SELECT channel, timestamp_ms FROM events WHERE id > (SELECT last_id FROM event_counter) - @Window) recent
                WHERE timestamp_ms >= @Since
                GROUP BY channel ORDER BY channel COLLATE "C"
                """,
                new { Since = since.ToUnixTimeMilliseconds(), Window = window }))
            .Select(r => new ChannelActivity(r.Channel, (int)r.Events, DateTimeOffset.FromUnixTimeMilliseconds(r.LastMs)))
            .ToList(), cancellationToken);
}
