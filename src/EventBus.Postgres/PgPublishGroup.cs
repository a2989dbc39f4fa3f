using EventBus.Core.Events;
using EventBus.Core.Sessions;
using EventBus.Core.Store;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// A commit group made only of publishes (the hot path) in one round trip: one batch, run by PostgreSQL as one implicit
/// transaction, that reads the publishers' sessions, then in one statement takes the next ids from <c>event_counter</c>
/// (its row lock is what orders groups from all nodes), inserts every event with its trace and outbox rows, touches the
/// live publishers and sends the wake-up NOTIFY. The same rows as <see cref="PgEvents.InsertAsync"/> one by one.
/// </summary>
internal static class PgPublishGroup
{
    private const string Publishers = PgSql.SelectSession + " WHERE session_id = ANY (@publishers)";

    private const string Insert =
        """
        WITH c AS (
            UPDATE event_counter SET last_id = last_id + @n RETURNING last_id - @n AS base),
        t AS (
            SELECT * FROM unnest(@types::text[], @payloads::text[], @sessions::text[], @ts::bigint[], @channels::text[],
                                 @correlations::text[], @levels::int[], @titles::text[], @tags::text[], @traces::text[],
                                 @publishers::text[])
                WITH ORDINALITY AS t(event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level,
                                     title, tags, traceparent, publisher, ord)),
        e AS (
            INSERT INTO events (id, event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags)
            SELECT c.base + t.ord, t.event_type, t.payload, t.session_id, t.timestamp_ms, t.channel, t.correlation_id,
                   t.signal_level, t.title, t.tags
            FROM c CROSS JOIN t ORDER BY t.ord
            RETURNING id, event_type, channel, timestamp_ms),
        tr AS (
            INSERT INTO event_traces (event_id, traceparent)
            SELECT c.base + t.ord, t.traceparent FROM c CROSS JOIN t WHERE t.traceparent IS NOT NULL),
        s AS (
            UPDATE sessions SET last_heartbeat_ms = p.ts
            FROM (SELECT publisher, max(timestamp_ms) AS ts FROM t WHERE publisher IS NOT NULL GROUP BY publisher) p
            WHERE sessions.session_id = p.publisher AND sessions.deleted_at_ms IS NULL),
        d AS (
        """ + PgEvents.QueueDeliveries + """
        )
        SELECT base, ARRAY(SELECT DISTINCT webhook_id FROM d), pg_notify('eventbus', 'e:' || (base + @n)) FROM c
        """;

    /// <summary>
    /// Runs the group (synchronously: it is called on the writer's own thread, see <see cref="PostgresWriter"/>) and
    /// fills <paramref name="w"/>'s <see cref="PgWriteContext.Inserted"/> and queued webhooks; returns each publish's
    /// outcome in order. Nothing is kept when it throws (the batch is one transaction).
    /// </summary>
    public static PublishOutcome[] Run(PgWriteContext w, IReadOnlyList<(NewEvent Event, string? Publisher)> publishes)
    {
        var n = publishes.Count;
        var types = new string[n];
        var payloads = new string[n];
        var sessions = new string[n];
        var timestamps = new long[n];
        var channels = new string[n];
        var correlations = new string?[n];
        var levels = new int[n];
        var titles = new string?[n];
        var tags = new string?[n];
        var traces = new string?[n];
        var publishers = new string?[n];
        var anyPublisher = false;
        for (var i = 0; i < n; i++)
        {
            var (e, publisher) = publishes[i];
            types[i] = e.EventType;
            payloads[i] = e.Payload;
            sessions[i] = e.SessionId;
            timestamps[i] = e.Timestamp.ToUnixTimeMilliseconds();
            channels[i] = e.Channel;
            correlations[i] = e.CorrelationId;
            levels[i] = (int)e.SignalLevel;
            titles[i] = e.Title;
            tags[i] = e.Tags is null ? null : PgEvents.SerializeTags(e.Tags);
            traces[i] = e.TraceParent;
            publishers[i] = publisher;
            anyPublisher |= publisher is not null;
        }

        using var batch = new NpgsqlBatch(w.Connection);
        if (anyPublisher)
        {
            var read = new NpgsqlBatchCommand(Publishers);
            read.Parameters.AddWithValue("publishers", publishers);
            batch.BatchCommands.Add(read);
        }

        var insert = new NpgsqlBatchCommand(Insert);
        var p = insert.Parameters;
        p.AddWithValue("n", (long)n);
        p.AddWithValue("types", types);
        p.AddWithValue("payloads", payloads);
        p.AddWithValue("sessions", sessions);
        p.AddWithValue("ts", timestamps);
        p.AddWithValue("channels", channels);
        p.AddWithValue("correlations", correlations);
        p.AddWithValue("levels", levels);
        p.AddWithValue("titles", titles);
        p.AddWithValue("tags", tags);
        p.AddWithValue("traces", traces);
        p.AddWithValue("publishers", publishers);
        batch.BatchCommands.Add(insert);

        var found = new Dictionary<string, Session>(StringComparer.Ordinal);
        long baseId;
        string[] webhooks;
        // Prepared once per connection (later calls find it): parsing and planning this statement costs PostgreSQL more
        // than running it.
        batch.Prepare();
        using (var reader = batch.ExecuteReader())
        {
            if (anyPublisher)
            {
                while (reader.Read())
                {
                    var session = PgSessionRow.Read(reader).ToSession();
                    found[session.SessionId] = session;
                }

                reader.NextResult();
            }

            reader.Read();
            baseId = reader.GetInt64(0);
            webhooks = reader.GetFieldValue<string[]>(1);
        }

        var outcomes = new PublishOutcome[n];
        for (var i = 0; i < n; i++)
        {
            var (e, publisher) = publishes[i];
            var stored = new BusEvent(baseId + i + 1, e.EventType, e.Payload, e.SessionId, e.Timestamp, e.Channel, e.CorrelationId,
                e.SignalLevel, e.Title, e.Tags);
            w.Inserted.Add(stored);
            outcomes[i] = new PublishOutcome(stored, publisher is not null ? found.GetValueOrDefault(publisher) : null);
        }

        foreach (var webhook in webhooks)
        {
            w.QueuedWebhooks.Add(webhook);
        }

        return outcomes;
    }
}
