using EventBus.Core.Events;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>The one way an event row is written, shared by every part of the store that appends events.</summary>
internal static class EventRows
{
    /// <summary>Inserts one event in the writer's transaction, queues its webhook deliveries, and returns it stored.</summary>
    public static BusEvent Insert(WriteContext w, NewEvent e)
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
        if (e.TraceParent is not null)
        {
            var trace = w.Command("INSERT INTO event_traces (event_id, traceparent) VALUES ($id, $traceparent)");
            trace.Parameters.Clear();
            trace.Parameters.AddWithValue("$id", id);
            trace.Parameters.AddWithValue("$traceparent", e.TraceParent);
            trace.ExecuteNonQuery();
        }

        Outbox.Enqueue(w, id, e.Channel, e.EventType, e.Timestamp.ToUnixTimeMilliseconds());
        var stored = new BusEvent(id, e.EventType, e.Payload, e.SessionId, e.Timestamp, e.Channel, e.CorrelationId, e.SignalLevel, e.Title, e.Tags);
        w.Inserted.Add(stored);
        return stored;
    }
}
