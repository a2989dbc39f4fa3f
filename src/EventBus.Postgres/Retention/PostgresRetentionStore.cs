using System.Text;
using Dapper;
using EventBus.Core.Retention;
using Npgsql;

namespace EventBus.Postgres.Retention;

/// <summary>
/// Retention on PostgreSQL, with the SQLite store's rules. Candidates are found on a pooled read connection (the
/// writer is not held while it scans); the delete runs as a piece of a <see cref="PostgresWriter"/> group, so it holds
/// the <c>event_counter</c> row lock like every write of every node: sweeps and id allocation are serialized across the
/// cluster, and the newest event (checked again inside the lock) is never deleted, so its id is never reused. The
/// delete checks the keep rules again by primary key (a delivery may have been queued, a DM read, meanwhile). Freed
/// space is autovacuum's to reuse: <see cref="ReclaimAsync"/> gives nothing back.
/// </summary>
public sealed class PostgresRetentionStore : IRetentionStore
{
    // An event is kept while a delivery of it is pending (0) or a dead letter (2: redeliver replays it until the delivery
    // log prunes it), or while it is a DM its live recipient has not read yet.
    private const string Kept =
        """
        (EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status IN (0, 2))
         OR (starts_with(e.channel, 'session:') AND EXISTS (SELECT 1 FROM sessions s
             WHERE s.session_id = substr(e.channel, 9) AND s.deleted_at_ms IS NULL AND COALESCE(s.cursor, 0) < e.id)))
        """;

    private readonly PostgresDatabase _database;

    internal PostgresRetentionStore(PostgresDatabase database) => _database = database;

    /// <inheritdoc />
    public Task<RetentionMark> GetMarkAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(c => ReadMarkAsync(c, null), cancellationToken);

    /// <inheritdoc />
    public Task<StoreUsage> GetUsageAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<(string Channel, long Events, long Bytes, long OldestId, long OldestMs)>(
                """
                SELECT channel, COUNT(*), SUM(octet_length(payload) + COALESCE(octet_length(title), 0)
                           + COALESCE(octet_length(tags), 0))::bigint,
                       MIN(id), MIN(timestamp_ms)
                FROM events GROUP BY channel
                """);
            var channels = rows
                .Select(r => new ChannelUsage(r.Channel, r.Events, r.Bytes, r.OldestId, DateTimeOffset.FromUnixTimeMilliseconds(r.OldestMs)))
                .ToList();
            // The whole database; space freed by deletes is reused by autovacuum in place, so none is held "free" to give back.
            var used = await c.ExecuteScalarAsync<long>("SELECT pg_database_size(current_database())");
            return new StoreUsage(channels, used, 0);
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<RetentionBatch> DeleteAsync(RetentionSelection selection, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var candidates = await _database.ReadAsync(c => FindCandidatesAsync(c, selection, limit), cancellationToken);
        if (candidates.Count == 0)
        {
            return new RetentionBatch(0, await GetMarkAsync(cancellationToken));
        }

        return await _database.Writer.ExecuteAsync(async w =>
        {
            // The group holds the event_counter lock: no node adds an event until it commits, so MAX(id) is the newest.
            var deleted = (await w.Connection.QueryAsync<long>(
                $"""
                DELETE FROM events AS e
                WHERE e.id = ANY(@Ids)
                  AND e.id < (SELECT MAX(id) FROM events)
                  AND NOT {Kept}
                RETURNING id
                """,
                new { Ids = candidates.ToArray() }, w.Transaction)).ToArray();
            if (deleted.Length > 0)
            {
                await w.Connection.ExecuteAsync(
                    "DELETE FROM event_traces WHERE event_id = ANY(@Done)", new { Done = deleted }, w.Transaction);
                await w.Connection.ExecuteAsync(
                    """
                    UPDATE retention_state SET deleted_through = GREATEST(deleted_through, @Top), deleted_total = deleted_total + @Count
                    WHERE only_row
                    """,
                    new { Top = deleted.Max(), Count = (long)deleted.Length }, w.Transaction);
            }

            return new RetentionBatch(deleted.Length, await ReadMarkAsync(w.Connection, w.Transaction));
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<long> ReclaimAsync(long maxBytes, CancellationToken cancellationToken) => Task.FromResult(0L);

    private static async Task<List<long>> FindCandidatesAsync(NpgsqlConnection connection, RetentionSelection selection, int limit)
    {
        var found = new List<long>(limit);
        var channels = selection.Channels is null ? [null] : selection.Channels.Cast<string?>();
        foreach (var channel in channels)
        {
            if (found.Count >= limit)
            {
                break;
            }

            var sql = new StringBuilder("SELECT e.id FROM events e WHERE e.id < (SELECT MAX(id) FROM events)");
            var parameters = new DynamicParameters();
            if (channel is not null)
            {
                // (channel, id) index: the channel's events in id order.
                sql.Append(" AND e.channel = @Channel");
                parameters.Add("Channel", channel);
            }

            if (selection.OlderThan is { } olderThan)
            {
                sql.Append(" AND e.timestamp_ms < @Before");
                parameters.Add("Before", olderThan.ToUnixTimeMilliseconds());
            }

            sql.Append(" AND NOT ").Append(Kept).Append(" ORDER BY e.id LIMIT @Limit");
            parameters.Add("Limit", limit - found.Count);
            found.AddRange(await connection.QueryAsync<long>(sql.ToString(), parameters));
        }

        return found;
    }

    private static async Task<RetentionMark> ReadMarkAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        var (through, total) = await connection.QuerySingleAsync<(long, long)>(
            "SELECT deleted_through, deleted_total FROM retention_state WHERE only_row", transaction: transaction);
        return new RetentionMark(through, total);
    }
}
