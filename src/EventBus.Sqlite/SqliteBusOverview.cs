using Dapper;
using EventBus.Core.Sessions;
using EventBus.Core.Store;

namespace EventBus.Sqlite;

/// <summary>The dashboard's summaries (<see cref="IBusOverview"/>): bounded reads only.</summary>
public sealed class SqliteBusOverview : IBusOverview
{
    private readonly SqliteDatabase _database;

    internal SqliteBusOverview(SqliteDatabase database) => _database = database;

    /// <inheritdoc />
    public Task<IReadOnlyList<Session>> ListEndedSessionsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Session>>(c => c.Query<SessionRow>(
                Sql.SelectSession + " WHERE deleted_at_ms >= @Since ORDER BY deleted_at_ms DESC LIMIT @Limit",
                new { Since = since.ToUnixTimeMilliseconds(), Limit = limit })
            .Select(r => r.ToSession())
            .ToList());

    /// <inheritdoc />
    public Task<int> CountEventsAfterAsync(long after, int cap, CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalar<int>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE id > @After LIMIT @Cap)", new { After = after, Cap = cap }));

    /// <inheritdoc />
    public Task<IReadOnlyList<ChannelActivity>> CountRecentByChannelAsync(DateTimeOffset since, int window, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ChannelActivity>>(c => c.Query<(string Channel, long Events, long LastMs)>(
                """
                SELECT channel, COUNT(*), MAX(timestamp_ms) FROM
                    (SELECT channel, timestamp_ms FROM events WHERE id > (SELECT COALESCE(MAX(id), 0) FROM events) - @Window)
                WHERE timestamp_ms >= @Since
                GROUP BY channel ORDER BY channel
                """,
                new { Since = since.ToUnixTimeMilliseconds(), Window = window })
            .Select(r => new ChannelActivity(r.Channel, (int)r.Events, DateTimeOffset.FromUnixTimeMilliseconds(r.LastMs)))
            .ToList());

    private Task<T> ReadAsync<T>(Func<Microsoft.Data.Sqlite.SqliteConnection, T> read) => _database.ReadAsync(read);
}
