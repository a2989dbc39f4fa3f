using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>How events are written and read: the one insert (with its outbox rows) and one indexed range scan per query.</summary>
internal static class PgEvents
{
    public const string Columns = "id, event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags";

    public const string Tip = "SELECT last_id FROM event_counter";

    /// <summary>
    /// The outbox rows for the events of a CTE <c>e (id, event_type, channel, timestamp_ms)</c>: one pending delivery per
    /// matching active webhook (as <see cref="Core.Webhooks.WebhookFilter"/>: channel prefix, type in the list or no
    /// list, an events subscription only until it expires), returning the webhooks that got one.
    /// </summary>
    public const string QueueDeliveries =
        """
        INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, retry_index, next_attempt_ms, created_at_ms)
        SELECT w.webhook_id, e.id, 0, 0, 0, e.timestamp_ms, e.timestamp_ms FROM e CROSS JOIN webhooks w
        WHERE w.active AND w.deleted_at_ms IS NULL AND starts_with(e.channel, w.channel)
          AND (w.event_types IS NULL OR e.event_type = ANY (w.event_types))
          AND (w.expires_at_ms IS NULL OR w.expires_at_ms > e.timestamp_ms)
        ORDER BY e.id, w.created_at_ms, w.webhook_id
        RETURNING webhook_id
        """;

    /// <summary>
    /// Inserts one event with the next id of the group and, in the same statement, its outbox rows
    /// (<see cref="QueueDeliveries"/>). Webhooks are read from the table, so one registered on another node counts at once.
    /// </summary>
    public static async Task<BusEvent> InsertAsync(PgWriteContext w, NewEvent e)
    {
        var id = w.NextId();
        await using var command = w.Command(
            """
            WITH e AS (
                INSERT INTO events (id, event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags)
                VALUES (@id, @type, @payload, @session, @ts, @channel, @correlation, @level, @title, @tags)
                RETURNING id, event_type, channel, timestamp_ms)
            """ + QueueDeliveries);
        var p = command.Parameters;
        p.AddWithValue("id", id);
        p.AddWithValue("type", e.EventType);
        p.AddWithValue("payload", e.Payload);
        p.AddWithValue("session", e.SessionId);
        p.AddWithValue("ts", e.Timestamp.ToUnixTimeMilliseconds());
        p.AddWithValue("channel", e.Channel);
        p.AddWithValue("correlation", (object?)e.CorrelationId ?? DBNull.Value);
        p.AddWithValue("level", (int)e.SignalLevel);
        p.AddWithValue("title", (object?)e.Title ?? DBNull.Value);
        p.AddWithValue("tags", e.Tags is null ? DBNull.Value : SerializeTags(e.Tags));
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                w.QueuedWebhooks.Add(reader.GetString(0));
            }
        }

        if (e.TraceParent is not null)
        {
            await using var trace = w.Command("INSERT INTO event_traces (event_id, traceparent) VALUES (@id, @traceparent)");
            trace.Parameters.AddWithValue("id", id);
            trace.Parameters.AddWithValue("traceparent", e.TraceParent);
            await trace.ExecuteNonQueryAsync();
        }

        var stored = new BusEvent(id, e.EventType, e.Payload, e.SessionId, e.Timestamp, e.Channel, e.CorrelationId, e.SignalLevel, e.Title, e.Tags);
        w.Inserted.Add(stored);
        return stored;
    }

    /// <summary>One event by id, in the writer's transaction.</summary>
    public static async Task<BusEvent?> ReadOneAsync(PgWriteContext w, long id)
    {
        await using var command = w.Command($"SELECT {Columns} FROM events WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Map(reader) : null;
    }

    /// <summary>
    /// What follows <paramref name="after"/>, for the commit relay, in one round trip: up to <paramref name="limit"/>
    /// committed events (every id up to the counter has committed: the counter commits with them) and the webhooks with
    /// pending deliveries for them. The second statement may see a few newer commits than the first; a webhook woken
    /// early reads its deliveries from the store all the same.
    /// </summary>
    public static async Task<(List<BusEvent> Events, bool HasMore, string[] Webhooks)> FollowAsync(NpgsqlConnection connection, long after, int limit)
    {
        const string page = "SELECT id FROM events WHERE id > @after AND id <= (SELECT last_id FROM event_counter) ORDER BY id LIMIT @limit";
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(
                    $"SELECT {Columns} FROM events WHERE id > @after AND id <= (SELECT last_id FROM event_counter) ORDER BY id LIMIT @limit + 1")
                {
                    Parameters = { new("after", after), new("limit", limit) },
                },
                new NpgsqlBatchCommand(
                    $"SELECT DISTINCT webhook_id FROM webhook_deliveries WHERE status = 0 AND event_id > @after AND event_id <= (SELECT max(id) FROM ({page}) p)")
                {
                    Parameters = { new("after", after), new("limit", limit) },
                },
            },
        };
        var events = new List<BusEvent>();
        var webhooks = new List<string>();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                events.Add(Map(reader));
            }

            await reader.NextResultAsync();
            while (await reader.ReadAsync())
            {
                webhooks.Add(reader.GetString(0));
            }
        }

        var hasMore = events.Count > limit;
        if (hasMore)
        {
            events.RemoveAt(events.Count - 1);
        }

        return (events, hasMore, [.. webhooks]);
    }

    /// <summary>
    /// A page of events. The tip is read first; every id up to it has committed (ids are handed out under the counter's
    /// lock and the counter commits with them), so a cursor read never passes over one that commits later.
    /// </summary>
    public static async Task<EventPage> ReadAsync(NpgsqlConnection connection, EventQuery query)
    {
        long tip;
        await using (var tipCommand = new NpgsqlCommand(Tip, connection))
        {
            tip = (long)(await tipCommand.ExecuteScalarAsync())!;
        }

        await using var command = new NpgsqlCommand { Connection = connection };
        var sql = new StringBuilder("SELECT ").Append(Columns).Append(" FROM events WHERE id <= @tip");
        command.Parameters.AddWithValue("tip", tip);
        if (query.After is { } after)
        {
            sql.Append(" AND id > @after");
            command.Parameters.AddWithValue("after", after);
        }

        if (query.Channel is { } channel)
        {
            sql.Append(" AND channel = @channel");
            command.Parameters.AddWithValue("channel", channel);
        }

        if (query.From is { } from)
        {
            sql.Append(" AND session_id = @from");
            command.Parameters.AddWithValue("from", from);
        }

        if (query.VisibleToToken is { } token)
        {
            sql.Append(
                " AND (NOT starts_with(channel, 'session:')" +
                " OR substr(channel, 9) IN (SELECT session_id FROM sessions WHERE owner_token_id = @owner)" +
                " OR session_id IN (SELECT session_id FROM sessions WHERE owner_token_id = @owner))");
            command.Parameters.AddWithValue("owner", token);
        }

        if (query.EventTypes is { Count: > 0 } types)
        {
            sql.Append(" AND event_type = ANY (@types)");
            command.Parameters.AddWithValue("types", types.ToArray());
        }

        if (query.CorrelationId is { } correlation)
        {
            sql.Append(" AND correlation_id = @correlation");
            command.Parameters.AddWithValue("correlation", correlation);
        }

        switch (query.MinLevel)
        {
            case SignalLevel.Actionable:
                sql.Append(" AND signal_level = ").Append((int)SignalLevel.Actionable);
                break;
            case SignalLevel.Info:
                sql.Append(" AND signal_level >= ").Append((int)SignalLevel.Info);
                break;
        }

        sql.Append(query.After is null ? " ORDER BY id DESC" : " ORDER BY id ASC").Append(" LIMIT @limit");
        command.Parameters.AddWithValue("limit", query.Limit + 1);
        command.CommandText = sql.ToString();

        var events = new List<BusEvent>(Math.Min(query.Limit + 1, 64));
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                events.Add(Map(reader));
            }
        }

        var hasMore = events.Count > query.Limit;
        if (hasMore)
        {
            events.RemoveAt(events.Count - 1);
        }

        if (query.After is null)
        {
            events.Reverse();
        }

        return new EventPage(events, hasMore, tip);
    }

    public static string SerializeTags(IReadOnlyList<string> tags) => JsonSerializer.Serialize(tags, PgJson.Default.IReadOnlyListString);

    /// <summary>Reads an event from <see cref="Columns"/> starting at column <paramref name="o"/>.</summary>
    public static BusEvent Map(NpgsqlDataReader r, int o = 0) => new(
        r.GetInt64(o),
        r.GetString(o + 1),
        r.GetString(o + 2),
        r.GetString(o + 3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(o + 4)),
        r.GetString(o + 5),
        r.IsDBNull(o + 6) ? null : r.GetString(o + 6),
        (SignalLevel)r.GetInt32(o + 7),
        r.IsDBNull(o + 8) ? null : r.GetString(o + 8),
        r.IsDBNull(o + 9) ? null : JsonSerializer.Deserialize(r.GetString(o + 9), PgJson.Default.IReadOnlyListString));
}

/// <summary>Source-generated JSON for the tags column.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class PgJson : JsonSerializerContext;
