using Dapper;
using EventBus.Core.Events;
using EventBus.Core.Webhooks;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// The PostgreSQL store's webhooks, outbox, attempts and ingest keys. The outbox rows are written by the event insert
/// itself (<see cref="PgEvents.InsertAsync"/>). Each webhook's lane runs on one node at a time: reading its pending
/// deliveries takes (or renews) a lease on the webhook, so each delivery is sent by one node and in order. The lease
/// names the holder's listener connection: a node that dies loses that connection and its leases at once (else they
/// lapse after <see cref="PostgresStoreOptions.WebhookLease"/>), and another node's lane, woken by the backstop,
/// takes over.
/// </summary>
public sealed partial class PostgresWebhookStore : IWebhookStore, IEventSubscriptionStore
{
    private readonly PostgresDatabase _database;

    internal PostgresWebhookStore(PostgresDatabase database) => _database = database;

    private const string DeliveryColumns =
        """
        d.id, d.webhook_id, d.event_id, d.status, d.attempts, d.retry_index, d.next_attempt_ms, d.created_at_ms,
        d.last_attempt_ms, d.last_status_code, d.last_error, d.delivered_at_ms, e.event_type, e.channel
        """;

    private const string WebhookColumns =
        "webhook_id, url, channel, event_types, active, created_at_ms, secret, failing_since_ms, disabled_reason";

    /// <inheritdoc />
    public Task AddWebhookAsync(Webhook webhook, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.ExecuteAsync(
            $"""
            INSERT INTO webhooks ({WebhookColumns}, deleted_at_ms)
            VALUES (@WebhookId, @Url, @Channel, @Types, TRUE, @Created, @Secret, NULL, NULL, NULL)
            """,
            new
            {
                webhook.WebhookId,
                webhook.Url,
                webhook.Channel,
                Types = webhook.EventTypes is { Count: > 0 } types ? types.ToArray() : null,
                Created = webhook.CreatedAt.ToUnixTimeMilliseconds(),
                Secret = webhook.ProtectedSecret,
            },
            w.Transaction), cancellationToken);

    /// <inheritdoc />
    public Task<Webhook?> GetWebhookAsync(string webhookId, CancellationToken cancellationToken) =>
        ReadAsync(async c => (await ReadWebhooksAsync(c, null, "WHERE webhook_id = @id AND deleted_at_ms IS NULL", webhookId)).SingleOrDefault(),
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Webhook>> ListWebhooksAsync(bool activeOnly, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Webhook>>(async c => await ReadWebhooksAsync(
            c, null, activeOnly ? "WHERE deleted_at_ms IS NULL AND active" : "WHERE deleted_at_ms IS NULL", null), cancellationToken);

    /// <inheritdoc />
    public Task<bool> SetWebhookActiveAsync(string webhookId, bool active, string? reason, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w => await w.Connection.ExecuteAsync(
            """
            UPDATE webhooks SET active = @Active,
                disabled_reason = CASE WHEN @Active THEN NULL ELSE @Reason END,
                failing_since_ms = CASE WHEN @Active THEN NULL ELSE failing_since_ms END
            WHERE webhook_id = @Id AND deleted_at_ms IS NULL
            """,
            new { Active = active, Reason = reason, Id = webhookId }, w.Transaction) > 0, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RemoveWebhookAsync(string webhookId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var changed = await w.Connection.ExecuteAsync(
                "UPDATE webhooks SET deleted_at_ms = @Now, active = FALSE WHERE webhook_id = @Id AND deleted_at_ms IS NULL",
                new { Now = now.ToUnixTimeMilliseconds(), Id = webhookId }, w.Transaction);
            if (changed > 0)
            {
                await w.Connection.ExecuteAsync(
                    "UPDATE webhook_deliveries SET status = 3 WHERE webhook_id = @Id AND status = 0", new { Id = webhookId }, w.Transaction);
            }

            return changed > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, PendingSummary>> PendingSummaryAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyDictionary<string, PendingSummary>>(async c => (await c.QueryAsync<(string WebhookId, long Count, long OldestMs)>(
                """
                SELECT p.webhook_id, p.n, d.created_at_ms
                FROM (SELECT webhook_id, COUNT(*) AS n, MIN(id) AS first FROM webhook_deliveries WHERE status = 0 GROUP BY webhook_id) p
                JOIN webhook_deliveries d ON d.id = p.first
                """))
            .ToDictionary(
                r => r.WebhookId,
                r => new PendingSummary((int)r.Count, DateTimeOffset.FromUnixTimeMilliseconds(r.OldestMs)),
                StringComparer.Ordinal), cancellationToken);

    /// <inheritdoc />
    /// <remarks>Empty while another node holds this webhook's lane.</remarks>
    public Task<IReadOnlyList<PendingDelivery>> NextDeliveriesAsync(string webhookId, int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<PendingDelivery>>(async c =>
        {
            if (!await TakeLeaseAsync(c, null, webhookId))
            {
                return [];
            }

            await using var command = new NpgsqlCommand(
                $"""
                SELECT {DeliveryColumns}, {string.Join(", ", PgEvents.Columns.Split(", ").Select(col => "e." + col))}, t.traceparent
                FROM webhook_deliveries d JOIN events e ON e.id = d.event_id LEFT JOIN event_traces t ON t.event_id = e.id
                WHERE d.webhook_id = @id AND d.status = 0
                ORDER BY d.id LIMIT @limit
                """, c);
            command.Parameters.AddWithValue("id", webhookId);
            command.Parameters.AddWithValue("limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var list = new List<PendingDelivery>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var trace = reader.FieldCount - 1;
                list.Add(new PendingDelivery(MapDelivery(reader), PgEvents.Map(reader, 14))
                {
                    TraceParent = reader.IsDBNull(trace) ? null : reader.GetString(trace),
                });
            }

            return list;
        }, cancellationToken);

    /// <summary>Takes or renews this node's lease on a webhook's lane; false while another node's has not lapsed.</summary>
    private async Task<bool> TakeLeaseAsync(NpgsqlConnection c, NpgsqlTransaction? transaction, string webhookId)
    {
        var holder = await c.ExecuteScalarAsync<string?>(
            """
            INSERT INTO webhook_leases (webhook_id, node, holder_pid, until) VALUES (@Id, @Node, @Pid, clock_timestamp() + @Lease)
            ON CONFLICT (webhook_id) DO UPDATE SET node = excluded.node, holder_pid = excluded.holder_pid, until = excluded.until
            WHERE webhook_leases.node = excluded.node OR webhook_leases.until < clock_timestamp()
               OR (webhook_leases.holder_pid IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = webhook_leases.holder_pid))
            RETURNING node
            """,
            new { Id = webhookId, Node = _database.NodeId, Pid = _database.ListenerPid, Lease = _database.Options.WebhookLease }, transaction);
        return holder is not null;
    }

    /// <inheritdoc />
    public Task<AttemptResult> RecordAttemptAsync(
        AttemptRecord a, TimeSpan disableAfter, Func<WebhookDisabling, NewEvent> disabledEvent, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var c = w.Connection;
            var at = a.At.ToUnixTimeMilliseconds();
            var status = a.Outcome switch
            {
                AttemptOutcome.Delivered => DeliveryStatus.Delivered,
                AttemptOutcome.RetryLater => DeliveryStatus.Pending,
                _ => DeliveryStatus.Failed,
            };
            await TakeLeaseAsync(c, w.Transaction, a.WebhookId);
            await c.ExecuteAsync(
                """
                UPDATE webhook_deliveries SET attempts = attempts + 1, retry_index = retry_index + 1,
                    status = CASE WHEN status = 3 THEN 3 ELSE @Status END,
                    next_attempt_ms = COALESCE(@Next, next_attempt_ms), last_attempt_ms = @At,
                    last_status_code = @Code, last_error = @Error,
                    delivered_at_ms = CASE WHEN @Status = 1 THEN @At ELSE delivered_at_ms END
                WHERE id = @Id
                """,
                new { Status = (int)status, Next = a.NextAttemptAt?.ToUnixTimeMilliseconds(), At = at, Code = a.StatusCode, a.Error, Id = a.DeliveryId },
                w.Transaction);
            await c.ExecuteAsync(
                """
                INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, status_code, error, duration_ms)
                VALUES (@Id, (SELECT attempts FROM webhook_deliveries WHERE id = @Id), @At, @Code, @Error, @Duration)
                """,
                new { Id = a.DeliveryId, At = at, Code = a.StatusCode, a.Error, Duration = Math.Round(a.DurationMs, 3) },
                w.Transaction);

            if (a.Outcome == AttemptOutcome.Delivered)
            {
                await c.ExecuteAsync("UPDATE webhooks SET failing_since_ms = NULL WHERE webhook_id = @Id AND failing_since_ms IS NOT NULL",
                    new { Id = a.WebhookId }, w.Transaction);
                return new AttemptResult(false, null, null);
            }

            await c.ExecuteAsync("UPDATE webhooks SET failing_since_ms = COALESCE(failing_since_ms, @At) WHERE webhook_id = @Id",
                new { Id = a.WebhookId, At = at }, w.Transaction);
            var webhook = (await ReadWebhooksAsync(c, w.Transaction, "WHERE webhook_id = @id AND deleted_at_ms IS NULL", a.WebhookId)).SingleOrDefault();
            if (webhook is not { Active: true })
            {
                return new AttemptResult(false, null, null);
            }

            string? reason = null;
            if (a.Outcome == AttemptOutcome.Gone)
            {
                reason = "the receiver answered 410 Gone";
            }
            else if (webhook.FailingSince is { } since && a.At - since >= disableAfter)
            {
                reason = $"every attempt failed for {Describe(a.At - since)} (since {Timestamps.ToWire(since)}); last error: {a.Error}";
            }

            if (reason is null)
            {
                return new AttemptResult(false, null, null);
            }

            await c.ExecuteAsync("UPDATE webhooks SET active = FALSE, disabled_reason = @Reason WHERE webhook_id = @Id",
                new { Reason = reason, Id = a.WebhookId }, w.Transaction);
            var stored = await PgEvents.InsertAsync(w, disabledEvent(new WebhookDisabling(webhook with { Active = false, DisabledReason = reason }, reason, a.At)));
            return new AttemptResult(true, reason, stored);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(DeliveryQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Delivery>>(async c =>
        {
            await using var command = new NpgsqlCommand { Connection = c };
            var where = new List<string>();
            if (query.WebhookId is { } webhookId)
            {
                where.Add("d.webhook_id = @webhook");
                command.Parameters.AddWithValue("webhook", webhookId);
            }

            if (query.Status is { } status)
            {
                where.Add("d.status = @status");
                command.Parameters.AddWithValue("status", (int)status);
            }

            command.CommandText =
                $"""
                SELECT {DeliveryColumns}
                FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
                {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")}
                ORDER BY d.id DESC LIMIT @limit
                """;
            command.Parameters.AddWithValue("limit", query.Limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var list = new List<Delivery>();
            while (await reader.ReadAsync(cancellationToken))
            {
                list.Add(MapDelivery(reader));
            }

            return list;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(IReadOnlyList<long> deliveryIds, CancellationToken cancellationToken) =>
        deliveryIds.Count == 0
            ? Task.FromResult<IReadOnlyList<DeliveryAttempt>>([])
            : ReadAsync<IReadOnlyList<DeliveryAttempt>>(async c => (await c.QueryAsync<(long DeliveryId, int Attempt, long AtMs, int? StatusCode, string? Error, double DurationMs)>(
                    """
                    SELECT delivery_id, attempt, at_ms, status_code, error, duration_ms FROM webhook_attempts
                    WHERE delivery_id = ANY (@Ids) ORDER BY delivery_id, attempt
                    """,
                    new { Ids = deliveryIds.ToArray() }))
                .Select(r => new DeliveryAttempt(r.DeliveryId, r.Attempt, DateTimeOffset.FromUnixTimeMilliseconds(r.AtMs), r.StatusCode, r.Error, r.DurationMs))
                .ToList(), cancellationToken);

    /// <inheritdoc />
    public Task<Delivery?> RedeliverAsync(long deliveryId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var changed = await w.Connection.ExecuteAsync(
                "UPDATE webhook_deliveries SET status = 0, retry_index = 0, next_attempt_ms = @Now, delivered_at_ms = NULL WHERE id = @Id",
                new { Now = now.ToUnixTimeMilliseconds(), Id = deliveryId }, w.Transaction);
            if (changed == 0)
            {
                return null;
            }

            await using var command = w.Command($"SELECT {DeliveryColumns} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = @id");
            command.Parameters.AddWithValue("id", deliveryId);
            Delivery delivery;
            await using (var reader = await command.ExecuteReaderAsync())
            {
                await reader.ReadAsync();
                delivery = MapDelivery(reader);
            }

            w.QueuedWebhooks.Add(delivery.WebhookId);
            return delivery;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<OutboxStats> GetOutboxStatsAsync(CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var (pending, oldest) = await c.QuerySingleAsync<(long, long?)>(
                "SELECT COUNT(*), MIN(created_at_ms) FROM webhook_deliveries WHERE status = 0");
            return new OutboxStats(pending, oldest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<(int Keys, int Deliveries)> PruneAsync(DateTimeOffset now, DateTimeOffset finishedBefore, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var keys = await w.Connection.ExecuteAsync("DELETE FROM ingest_keys WHERE expires_at_ms <= @Now",
                new { Now = now.ToUnixTimeMilliseconds() }, w.Transaction);
            var cutoff = finishedBefore.ToUnixTimeMilliseconds();
            await w.Connection.ExecuteAsync(
                """
                DELETE FROM webhook_attempts WHERE delivery_id IN (
                    SELECT id FROM webhook_deliveries WHERE status <> 0 AND created_at_ms < @Cutoff)
                """,
                new { Cutoff = cutoff }, w.Transaction);
            var deliveries = await w.Connection.ExecuteAsync(
                "DELETE FROM webhook_deliveries WHERE status <> 0 AND created_at_ms < @Cutoff", new { Cutoff = cutoff }, w.Transaction);
            return (keys, deliveries);
        }, cancellationToken);

    private static async Task<List<Webhook>> ReadWebhooksAsync(NpgsqlConnection c, NpgsqlTransaction? transaction, string where, string? id)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {WebhookColumns}, principal, event_name, arguments, expires_at_ms FROM webhooks {where} ORDER BY created_at_ms, webhook_id",
            c, transaction);
        if (id is not null)
        {
            command.Parameters.AddWithValue("id", id);
        }

        await using var r = await command.ExecuteReaderAsync();
        var list = new List<Webhook>();
        while (await r.ReadAsync())
        {
            list.Add(new Webhook(
                r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetFieldValue<string[]>(3),
                r.GetBoolean(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), r.GetFieldValue<byte[]>(6),
                r.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
                r.IsDBNull(8) ? null : r.GetString(8))
            {
                Subscription = r.IsDBNull(10)
                    ? null
                    : new EventSubscription(r.GetString(9), r.GetString(10), r.GetString(11), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12))),
            });
        }

        return list;
    }

    private static Delivery MapDelivery(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetInt64(2), (DeliveryStatus)r.GetInt32(3), r.GetInt32(4), r.GetInt32(5),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
        r.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
        r.IsDBNull(9) ? null : r.GetInt32(9),
        r.IsDBNull(10) ? null : r.GetString(10),
        r.IsDBNull(11) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
        r.GetString(12), r.GetString(13));

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{span.TotalDays:0.#} days" : span.TotalHours >= 1 ? $"{span.TotalHours:0.#} hours" : $"{span.TotalMinutes:0.#} minutes";

    private PostgresWriter Writer => _database.Writer;

    private Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken) =>
        _database.ReadAsync(read, cancellationToken);
}
