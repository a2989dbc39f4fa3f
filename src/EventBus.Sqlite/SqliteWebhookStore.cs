using Dapper;
using EventBus.Core.Events;
using EventBus.Core.Webhooks;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// The SQLite store's webhooks: webhooks, the outbox the writer fills (<see cref="Outbox.Enqueue"/>), attempts, and
/// ingest idempotency keys.
/// </summary>
public sealed partial class SqliteWebhookStore : IWebhookStore, IEventSubscriptionStore
{
    private readonly SqliteDatabase _database;

    internal SqliteWebhookStore(SqliteDatabase database) => _database = database;

    private const string DeliveryColumns =
        """
        d.id, d.webhook_id, d.event_id, d.status, d.attempts, d.retry_index, d.next_attempt_ms, d.created_at_ms,
        d.last_attempt_ms, d.last_status_code, d.last_error, d.delivered_at_ms, e.event_type, e.channel
        """;

    private const string WebhookColumns =
        "webhook_id, url, channel, event_types, active, created_at_ms, secret, failing_since_ms, disabled_reason";

    /// <inheritdoc />
    public Task AddWebhookAsync(Webhook webhook, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            w.Connection.Execute(
                $"""
                INSERT INTO webhooks ({WebhookColumns}, deleted_at_ms)
                VALUES (@WebhookId, @Url, @Channel, @Types, 1, @Created, @Secret, NULL, NULL, NULL)
                """,
                new
                {
                    webhook.WebhookId,
                    webhook.Url,
                    webhook.Channel,
                    Types = Outbox.SerializeTypes(webhook.EventTypes),
                    Created = webhook.CreatedAt.ToUnixTimeMilliseconds(),
                    Secret = webhook.ProtectedSecret,
                },
                w.Transaction);
            w.Routes = Outbox.LoadRoutes(w.Connection, w.Transaction);
            return 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<Webhook?> GetWebhookAsync(string webhookId, CancellationToken cancellationToken) =>
        ReadAsync(c => ReadWebhooks(c, null, "WHERE webhook_id = $id AND deleted_at_ms IS NULL", ("$id", webhookId)).SingleOrDefault());

    /// <inheritdoc />
    public Task<IReadOnlyList<Webhook>> ListWebhooksAsync(bool activeOnly, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Webhook>>(c => ReadWebhooks(
            c, null, activeOnly ? "WHERE deleted_at_ms IS NULL AND active = 1" : "WHERE deleted_at_ms IS NULL"));

    /// <inheritdoc />
    public Task<bool> SetWebhookActiveAsync(string webhookId, bool active, string? reason, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var changed = w.Connection.Execute(
                """
                UPDATE webhooks SET active = @Active,
                    disabled_reason = CASE WHEN @Active = 1 THEN NULL ELSE @Reason END,
                    failing_since_ms = CASE WHEN @Active = 1 THEN NULL ELSE failing_since_ms END
                WHERE webhook_id = @Id AND deleted_at_ms IS NULL
                """,
                new { Active = active ? 1 : 0, Reason = reason, Id = webhookId }, w.Transaction);
            w.Routes = Outbox.LoadRoutes(w.Connection, w.Transaction);
            return changed > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RemoveWebhookAsync(string webhookId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var changed = w.Connection.Execute(
                "UPDATE webhooks SET deleted_at_ms = @Now, active = 0 WHERE webhook_id = @Id AND deleted_at_ms IS NULL",
                new { Now = now.ToUnixTimeMilliseconds(), Id = webhookId }, w.Transaction);
            if (changed > 0)
            {
                w.Connection.Execute(
                    "UPDATE webhook_deliveries SET status = 3 WHERE webhook_id = @Id AND status = 0",
                    new { Id = webhookId }, w.Transaction);
            }

            w.Routes = Outbox.LoadRoutes(w.Connection, w.Transaction);
            return changed > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, PendingSummary>> PendingSummaryAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyDictionary<string, PendingSummary>>(c => c.Query<(string WebhookId, long Count, long OldestMs)>(
                // The pending index answers count and first id per webhook; only the oldest row itself is read.
                """
                SELECT p.webhook_id, p.n, d.created_at_ms
                FROM (SELECT webhook_id, COUNT(*) AS n, MIN(id) AS first FROM webhook_deliveries WHERE status = 0 GROUP BY webhook_id) p
                JOIN webhook_deliveries d ON d.id = p.first
                """)
            .ToDictionary(
                r => r.WebhookId,
                r => new PendingSummary((int)r.Count, DateTimeOffset.FromUnixTimeMilliseconds(r.OldestMs)),
                StringComparer.Ordinal));

    /// <inheritdoc />
    public Task<IReadOnlyList<PendingDelivery>> NextDeliveriesAsync(string webhookId, int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<PendingDelivery>>(c =>
        {
            using var command = c.CreateCommand();
            command.CommandText =
                $"""
                SELECT {DeliveryColumns}, {EventReader.ColumnsOf("e")}, t.traceparent
                FROM webhook_deliveries d JOIN events e ON e.id = d.event_id LEFT JOIN event_traces t ON t.event_id = e.id
                WHERE d.webhook_id = $id AND d.status = 0
                ORDER BY d.id LIMIT $limit
                """;
            command.Parameters.AddWithValue("$id", webhookId);
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var list = new List<PendingDelivery>();
            while (reader.Read())
            {
                var trace = reader.FieldCount - 1;
                list.Add(new PendingDelivery(MapDelivery(reader), EventReader.Map(reader, 14))
                {
                    TraceParent = reader.IsDBNull(trace) ? null : reader.GetString(trace),
                });
            }

            return list;
        });

    /// <inheritdoc />
    public Task<AttemptResult> RecordAttemptAsync(
        AttemptRecord a, TimeSpan disableAfter, Func<WebhookDisabling, NewEvent> disabledEvent, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var c = w.Connection;
            var at = a.At.ToUnixTimeMilliseconds();
            var status = a.Outcome switch
            {
                AttemptOutcome.Delivered => DeliveryStatus.Delivered,
                AttemptOutcome.RetryLater => DeliveryStatus.Pending,
                _ => DeliveryStatus.Failed,
            };
            // A delivery cancelled (webhook unregistered) while its request was out stays cancelled; the attempt is logged.
            c.Execute(
                """
                UPDATE webhook_deliveries SET attempts = attempts + 1, retry_index = retry_index + 1,
                    status = CASE WHEN status = 3 THEN 3 ELSE @Status END,
                    next_attempt_ms = COALESCE(@Next, next_attempt_ms), last_attempt_ms = @At,
                    last_status_code = @Code, last_error = @Error,
                    delivered_at_ms = CASE WHEN @Status = 1 THEN @At ELSE delivered_at_ms END
                WHERE id = @Id
                """,
                new
                {
                    Status = (int)status,
                    Next = a.NextAttemptAt?.ToUnixTimeMilliseconds(),
                    At = at,
                    Code = a.StatusCode,
                    a.Error,
                    Id = a.DeliveryId,
                },
                w.Transaction);
            c.Execute(
                """
                INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, status_code, error, duration_ms)
                VALUES (@Id, (SELECT attempts FROM webhook_deliveries WHERE id = @Id), @At, @Code, @Error, @Duration)
                """,
                new { Id = a.DeliveryId, At = at, Code = a.StatusCode, a.Error, Duration = Math.Round(a.DurationMs, 3) },
                w.Transaction);

            if (a.Outcome == AttemptOutcome.Delivered)
            {
                c.Execute("UPDATE webhooks SET failing_since_ms = NULL WHERE webhook_id = @Id AND failing_since_ms IS NOT NULL",
                    new { Id = a.WebhookId }, w.Transaction);
                return new AttemptResult(false, null, null);
            }

            c.Execute("UPDATE webhooks SET failing_since_ms = COALESCE(failing_since_ms, @At) WHERE webhook_id = @Id",
                new { Id = a.WebhookId, At = at }, w.Transaction);
            var webhook = ReadWebhooks(c, w.Transaction, "WHERE webhook_id = $id AND deleted_at_ms IS NULL", ("$id", a.WebhookId))
                .SingleOrDefault();
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

            c.Execute("UPDATE webhooks SET active = 0, disabled_reason = @Reason WHERE webhook_id = @Id",
                new { Reason = reason, Id = a.WebhookId }, w.Transaction);
            w.Routes = Outbox.LoadRoutes(c, w.Transaction);
            var stored = EventRows.Insert(w, disabledEvent(new WebhookDisabling(webhook with { Active = false, DisabledReason = reason }, reason, a.At)));
            return new AttemptResult(true, reason, stored);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(DeliveryQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Delivery>>(c =>
        {
            using var command = c.CreateCommand();
            var where = new List<string>();
            if (query.WebhookId is { } webhookId)
            {
                where.Add("d.webhook_id = $webhook");
                command.Parameters.AddWithValue("$webhook", webhookId);
            }

            if (query.Status is { } status)
            {
                where.Add("d.status = $status");
                command.Parameters.AddWithValue("$status", (int)status);
            }

            command.CommandText =
                $"""
                SELECT {DeliveryColumns}
                FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
                {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")}
                ORDER BY d.id DESC LIMIT $limit
                """;
            command.Parameters.AddWithValue("$limit", query.Limit);
            using var reader = command.ExecuteReader();
            var list = new List<Delivery>();
            while (reader.Read())
            {
                list.Add(MapDelivery(reader));
            }

            return list;
        });

    /// <inheritdoc />
    public Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(IReadOnlyList<long> deliveryIds, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<DeliveryAttempt>>(c => deliveryIds.Count == 0
            ? []
            : c.Query<(long DeliveryId, long Attempt, long AtMs, long? StatusCode, string? Error, double DurationMs)>(
                    """
                    SELECT delivery_id, attempt, at_ms, status_code, error, duration_ms FROM webhook_attempts
                    WHERE delivery_id IN @Ids ORDER BY delivery_id, attempt
                    """,
                    new { Ids = deliveryIds })
                .Select(r => new DeliveryAttempt(
                    r.DeliveryId, (int)r.Attempt, DateTimeOffset.FromUnixTimeMilliseconds(r.AtMs), (int?)r.StatusCode, r.Error, r.DurationMs))
                .ToList());

    /// <inheritdoc />
    public Task<Delivery?> RedeliverAsync(long deliveryId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var changed = w.Connection.Execute(
                "UPDATE webhook_deliveries SET status = 0, retry_index = 0, next_attempt_ms = @Now, delivered_at_ms = NULL WHERE id = @Id",
                new { Now = now.ToUnixTimeMilliseconds(), Id = deliveryId }, w.Transaction);
            if (changed == 0)
            {
                return null;
            }

            using var command = w.Connection.CreateCommand();
            command.Transaction = w.Transaction;
            command.CommandText = $"SELECT {DeliveryColumns} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $id";
            command.Parameters.AddWithValue("$id", deliveryId);
            using var reader = command.ExecuteReader();
            reader.Read();
            var delivery = MapDelivery(reader);
            w.QueuedWebhooks.Add(delivery.WebhookId);
            return delivery;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<OutboxStats> GetOutboxStatsAsync(CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            var (pending, oldest) = c.QuerySingle<(long, long?)>(
                "SELECT COUNT(*), MIN(created_at_ms) FROM webhook_deliveries WHERE status = 0");
            return new OutboxStats(pending, oldest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
        });

    /// <inheritdoc />
    public Task<(int Keys, int Deliveries)> PruneAsync(DateTimeOffset now, DateTimeOffset finishedBefore, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var keys = w.Connection.Execute("DELETE FROM ingest_keys WHERE expires_at_ms <= @Now",
                new { Now = now.ToUnixTimeMilliseconds() }, w.Transaction);
            var cutoff = finishedBefore.ToUnixTimeMilliseconds();
            w.Connection.Execute(
                """
                DELETE FROM webhook_attempts WHERE delivery_id IN (
                    SELECT id FROM webhook_deliveries WHERE status <> 0 AND created_at_ms < @Cutoff)
                """,
                new { Cutoff = cutoff }, w.Transaction);
            var deliveries = w.Connection.Execute(
                "DELETE FROM webhook_deliveries WHERE status <> 0 AND created_at_ms < @Cutoff", new { Cutoff = cutoff }, w.Transaction);
            return (keys, deliveries);
        }, cancellationToken);

    internal static List<Webhook> ReadWebhooks(
        SqliteConnection c, SqliteTransaction? transaction, string where, params (string Name, object Value)[] parameters)
    {
        using var command = c.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {WebhookColumns}, principal, event_name, arguments, expires_at_ms FROM webhooks {where} ORDER BY created_at_ms, webhook_id";
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var r = command.ExecuteReader();
        var list = new List<Webhook>();
        while (r.Read())
        {
            list.Add(new Webhook(
                r.GetString(0), r.GetString(1), r.GetString(2), Outbox.ParseTypes(r.IsDBNull(3) ? null : r.GetString(3)),
                r.GetInt64(4) == 1, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), (byte[])r.GetValue(6),
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

    private static Delivery MapDelivery(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetInt64(2), (DeliveryStatus)r.GetInt32(3), r.GetInt32(4), r.GetInt32(5),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
        r.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
        r.IsDBNull(9) ? null : r.GetInt32(9),
        r.IsDBNull(10) ? null : r.GetString(10),
        r.IsDBNull(11) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
        r.GetString(12), r.GetString(13));

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{span.TotalDays:0.#} days" : span.TotalHours >= 1 ? $"{span.TotalHours:0.#} hours" : $"{span.TotalMinutes:0.#} minutes";

    private SqliteWriter Writer => _database.Writer;

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read) => _database.ReadAsync(read);
}
