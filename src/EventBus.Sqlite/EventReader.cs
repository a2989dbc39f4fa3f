using System.Text;
using System.Text.Json;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>Turns an <see cref="EventQuery"/> into one indexed range scan.</summary>
internal static class EventReader
{
    private const string Columns = "id, event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags";

    public static EventPage Read(SqliteConnection connection, EventQuery query)
    {
        long tip;
        using (var tipCommand = connection.CreateCommand())
        {
            tipCommand.CommandText = Sql.Tip;
            tip = (long)tipCommand.ExecuteScalar()!;
        }

        using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT ").Append(Columns).Append(" FROM events WHERE id <= $tip");
        command.Parameters.AddWithValue("$tip", tip);
        if (query.After is { } after)
        {
            sql.Append(" AND id > $after");
            command.Parameters.AddWithValue("$after", after);
        }

        if (query.Channel is { } channel)
        {
            sql.Append(" AND channel = $channel");
            command.Parameters.AddWithValue("$channel", channel);
        }

        if (query.From is { } from)
        {
            sql.Append(" AND session_id = $from");
            command.Parameters.AddWithValue("$from", from);
        }

        if (query.VisibleToToken is { } token)
        {
            sql.Append(
                " AND (channel NOT GLOB 'session:*'" +
                " OR substr(channel, 9) IN (SELECT session_id FROM sessions WHERE owner_token_id = $owner)" +
                " OR session_id IN (SELECT session_id FROM sessions WHERE owner_token_id = $owner))");
            command.Parameters.AddWithValue("$owner", token);
        }

        if (query.EventTypes is { Count: > 0 } types)
        {
            sql.Append(" AND event_type IN (");
            for (var i = 0; i < types.Count; i++)
            {
                sql.Append(i == 0 ? "$t" : ", $t").Append(i);
                command.Parameters.AddWithValue("$t" + i, types[i]);
            }

            sql.Append(')');
        }

        if (query.CorrelationId is { } correlation)
        {
            sql.Append(" AND correlation_id = $correlation");
            command.Parameters.AddWithValue("$correlation", correlation);
        }

        switch (query.MinLevel)
        {
            case SignalLevel.Actionable:
                // Equality keeps ix_events_level usable as an id-ordered scan of only the loud events.
                sql.Append(" AND signal_level = ").Append((int)SignalLevel.Actionable);
                break;
            case SignalLevel.Info:
                // Most events are info or louder: filter while scanning by id (the unary + keeps the planner off the level index).
                sql.Append(" AND +signal_level >= ").Append((int)SignalLevel.Info);
                break;
        }

        sql.Append(query.After is null ? " ORDER BY id DESC" : " ORDER BY id ASC").Append(" LIMIT $limit");
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        command.CommandText = sql.ToString();

        var events = new List<BusEvent>(Math.Min(query.Limit + 1, 64));
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
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

    public static string SerializeTags(IReadOnlyList<string> tags) => JsonSerializer.Serialize(tags, TagsJson.Default.IReadOnlyListString);

    /// <summary>The events columns, prefixed with a table alias (for joins).</summary>
    public static string ColumnsOf(string alias) => string.Join(", ", Columns.Split(", ").Select(c => alias + "." + c));

    /// <summary>Reads an event from <see cref="Columns"/> starting at column <paramref name="o"/>.</summary>
    public static BusEvent Map(SqliteDataReader r, int o = 0) => new(
        r.GetInt64(o),
        r.GetString(o + 1),
        r.GetString(o + 2),
        r.GetString(o + 3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(o + 4)),
        r.GetString(o + 5),
        r.IsDBNull(o + 6) ? null : r.GetString(o + 6),
        (SignalLevel)r.GetInt32(o + 7),
        r.IsDBNull(o + 8) ? null : r.GetString(o + 8),
        r.IsDBNull(o + 9) ? null : JsonSerializer.Deserialize(r.GetString(o + 9), TagsJson.Default.IReadOnlyListString));
}
