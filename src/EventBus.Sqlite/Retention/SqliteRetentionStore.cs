using System.Text;
using System.Text.Json;
using Dapper;
using EventBus.Core.Retention;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite.Retention;

/// <summary>
/// Retention on SQLite. Candidates are found on a read connection (WAL: the writer is not held while it scans); the
/// delete runs on the writer as one short transaction that checks the keep rules again by primary key (a delivery may
/// have been queued, a DM read, meanwhile). Space is given back with <c>PRAGMA incremental_vacuum</c> in small steps,
/// each alone on the writer; readers go on reading the WAL snapshot they hold.
/// </summary>
public sealed class SqliteRetentionStore : IRetentionStore
{
    // An event is kept while a delivery of it is pending (0) or a dead letter (2: redeliver replays it until the delivery
    // log prunes it), or while it is a DM its live recipient has not read yet.
    private const string Kept =
        """
        (EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status IN (0, 2))
         OR (e.channel GLOB 'session:*' AND EXISTS (SELECT 1 FROM sessions s
             WHERE s.session_id = substr(e.channel, 9) AND s.deleted_at_ms IS NULL AND COALESCE(s.cursor, 0) < e.id)))
        """;

    private readonly SqliteDatabase _database;

    internal SqliteRetentionStore(SqliteDatabase database) => _database = database;

    /// <inheritdoc />
    public Task<RetentionMark> GetMarkAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(ReadMark);

    /// <inheritdoc />
    public Task<StoreUsage> GetUsageAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(c =>
        {
            var channels = c.Query<(string Channel, long Events, long Bytes, long OldestId, long OldestMs)>(
                    """
                    SELECT channel, COUNT(*), SUM(length(CAST(payload AS BLOB)) + COALESCE(length(CAST(title AS BLOB)), 0)
                               + COALESCE(length(CAST(tags AS BLOB)), 0)),
                           MIN(id), MIN(timestamp_ms)
                    FROM events GROUP BY channel
                    """)
                .Select(r => new ChannelUsage(r.Channel, r.Events, r.Bytes, r.OldestId, DateTimeOffset.FromUnixTimeMilliseconds(r.OldestMs)))
                .ToList();
            var pageSize = c.ExecuteScalar<long>("PRAGMA page_size");
            var pages = c.ExecuteScalar<long>("PRAGMA page_count");
            var free = c.ExecuteScalar<long>("PRAGMA freelist_count");
            return new StoreUsage(channels, (pages - free) * pageSize, free * pageSize);
        });

    /// <inheritdoc />
    public async Task<RetentionBatch> DeleteAsync(RetentionSelection selection, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var candidates = await _database.ReadAsync(c => FindCandidates(c, selection, limit));
        if (candidates.Count == 0)
        {
            return new RetentionBatch(0, await GetMarkAsync(cancellationToken));
        }

        var ids = JsonSerializer.Serialize(candidates, RetentionJson.Default.ListInt64);
        return await _database.Writer.ExecuteAsync(w =>
        {
            var deleted = w.Connection.Query<long>(
                $"""
                DELETE FROM events AS e
                WHERE e.id IN (SELECT value FROM json_each(@Ids))
                  AND e.id < (SELECT MAX(id) FROM events)
                  AND NOT {Kept}
                RETURNING id
                """,
                new { Ids = ids }, w.Transaction).ToList();
            if (deleted.Count > 0)
            {
                var done = JsonSerializer.Serialize(deleted, RetentionJson.Default.ListInt64);
                w.Connection.Execute(
                    "DELETE FROM event_traces WHERE event_id IN (SELECT value FROM json_each(@Done))", new { Done = done }, w.Transaction);
                w.Connection.Execute(
                    """
                    UPDATE retention_state SET deleted_through = MAX(deleted_through, @Top), deleted_total = deleted_total + @Count
                    WHERE id = 1
                    """,
                    new { Top = deleted.Max(), deleted.Count }, w.Transaction);
            }

            return new RetentionBatch(deleted.Count, ReadMark(w.Connection, w.Transaction));
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<long> ReclaimAsync(long maxBytes, CancellationToken cancellationToken)
    {
        var (mode, pageSize, free) = await _database.ReadAsync(c => (
            c.ExecuteScalar<long>("PRAGMA auto_vacuum"), c.ExecuteScalar<long>("PRAGMA page_size"), c.ExecuteScalar<long>("PRAGMA freelist_count")));
        // 2 = INCREMENTAL (every database is switched to it when opened: see SqliteDatabase).
        if (mode != 2 || free == 0)
        {
            return 0;
        }

        var pages = Math.Max(1, Math.Min(free, maxBytes / pageSize));
        var freed = await _database.Writer.ExecuteAloneAsync(c =>
        {
            var before = c.ExecuteScalar<long>("PRAGMA freelist_count");
            // incremental_vacuum returns a row per page moved; the statement must be stepped to the end to run.
            c.Query($"PRAGMA incremental_vacuum({pages})").AsList();
            return before - c.ExecuteScalar<long>("PRAGMA freelist_count");
        }, cancellationToken);
        return freed * pageSize;
    }

    private static List<long> FindCandidates(SqliteConnection connection, RetentionSelection selection, int limit)
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
            found.AddRange(connection.Query<long>(sql.ToString(), parameters));
        }

        return found;
    }

    private static RetentionMark ReadMark(SqliteConnection connection) => ReadMark(connection, null);

    private static RetentionMark ReadMark(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var (through, total) = connection.QuerySingle<(long, long)>(
            "SELECT deleted_through, deleted_total FROM retention_state WHERE id = 1", transaction: transaction);
        return new RetentionMark(through, total);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<long>))]
internal sealed partial class RetentionJson : System.Text.Json.Serialization.JsonSerializerContext;
