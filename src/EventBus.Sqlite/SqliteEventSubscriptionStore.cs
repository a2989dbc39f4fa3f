using Dapper;
using EventBus.Core.Webhooks;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// MCP Events webhook subscriptions on SQLite: rows of <c>webhooks</c> with their key and expiry, so the outbox the
/// writer fills (<see cref="Outbox.Enqueue"/>, which stops at the expiry) and the dispatcher's lanes serve them.
/// </summary>
public sealed partial class SqliteWebhookStore
{
    private const string LiveSubscription = "event_name IS NOT NULL AND deleted_at_ms IS NULL AND expires_at_ms > @Now";

    /// <inheritdoc />
    public Task<SubscribeResult> SubscribeAsync(SubscriptionWrite s, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var c = w.Connection;
            var tx = w.Transaction;
            var now = s.Now.ToUnixTimeMilliseconds();
            var expires = s.Subscription.ExpiresAt.ToUnixTimeMilliseconds();
            var before = ReadWebhooks(c, tx, "WHERE webhook_id = $id AND deleted_at_ms IS NULL", ("$id", s.Id)).SingleOrDefault();
            if (before?.Subscription is { } live && live.ExpiresAt > s.Now)
            {
                // A refresh: the secret and expiry are replaced and delivery resumes; the cursor is not looked at.
                c.Execute(
                    """
                    UPDATE webhooks SET secret = @Secret, expires_at_ms = @Expires, active = 1, disabled_reason = NULL, failing_since_ms = NULL
                    WHERE webhook_id = @Id
                    """,
                    new { Secret = s.ProtectedSecret, Expires = expires, s.Id }, tx);
                w.Routes = Outbox.LoadRoutes(c, tx);
                w.QueuedWebhooks.Add(s.Id);
                return new SubscribeResult(SubscribeStatus.Refreshed, Watermark(c, tx, s.Id), false, before);
            }

            var (mine, all) = c.QuerySingle<(long, long)>(
                $"SELECT COALESCE(SUM(CASE WHEN principal = @Principal THEN 1 ELSE 0 END), 0), COUNT(*) FROM webhooks WHERE {LiveSubscription}",
                new { s.Subscription.Principal, Now = now }, tx);
            if (mine >= s.MaxPerPrincipal)
            {
                return new SubscribeResult(SubscribeStatus.PrincipalLimit, 0, false, null);
            }

            if (all >= s.MaxTotal)
            {
                return new SubscribeResult(SubscribeStatus.TotalLimit, 0, false, null);
            }

            // New, or lapsed (or unsubscribed before): it starts afresh, and what the old one had pending is not its to send.
            c.Execute("UPDATE webhook_deliveries SET status = 3 WHERE webhook_id = @Id AND status = 0", new { s.Id }, tx);
            c.Execute(
                """
                INSERT INTO webhooks (webhook_id, url, channel, event_types, active, created_at_ms, secret, failing_since_ms, disabled_reason,
                                      deleted_at_ms, principal, event_name, arguments, expires_at_ms)
                VALUES (@Id, @Url, @Channel, @Types, 1, @Now, @Secret, NULL, NULL, NULL, @Principal, @Name, @Arguments, @Expires)
                ON CONFLICT (webhook_id) DO UPDATE SET url = excluded.url, channel = excluded.channel, event_types = excluded.event_types,
                    active = 1, created_at_ms = excluded.created_at_ms, secret = excluded.secret, failing_since_ms = NULL,
                    disabled_reason = NULL, deleted_at_ms = NULL, principal = excluded.principal, event_name = excluded.event_name,
                    arguments = excluded.arguments, expires_at_ms = excluded.expires_at_ms
                """,
                new
                {
                    s.Id,
                    s.Url,
                    s.Channel,
                    Types = Outbox.SerializeTypes(s.EventTypes),
                    Now = now,
                    Secret = s.ProtectedSecret,
                    s.Subscription.Principal,
                    s.Subscription.Name,
                    s.Subscription.Arguments,
                    Expires = expires,
                },
                tx);
            w.Routes = Outbox.LoadRoutes(c, tx);
            var truncated = s.Cursor is { } cursor && Replay(w, s, cursor, now);
            return new SubscribeResult(SubscribeStatus.Created, Watermark(c, tx, s.Id), truncated, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> UnsubscribeAsync(string id, string principal, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w =>
        {
            var at = now.ToUnixTimeMilliseconds();
            var expires = w.Connection.ExecuteScalar<long?>(
                "SELECT expires_at_ms FROM webhooks WHERE webhook_id = @Id AND principal = @Principal AND event_name IS NOT NULL AND deleted_at_ms IS NULL",
                new { Id = id, Principal = principal }, w.Transaction);
            if (expires is null)
            {
                return false;
            }

            End(w, [id], at);
            return expires > at;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> RemoveExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync<IReadOnlyList<string>>(w =>
        {
            var at = now.ToUnixTimeMilliseconds();
            var ids = w.Connection.Query<string>(
                "SELECT webhook_id FROM webhooks WHERE event_name IS NOT NULL AND deleted_at_ms IS NULL AND expires_at_ms <= @Now",
                new { Now = at }, w.Transaction).ToList();
            if (ids.Count > 0)
            {
                End(w, ids, at);
            }

            return ids;
        }, cancellationToken);

    /// <inheritdoc />
    public Task SkipDeliveryAsync(long deliveryId, string reason, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.Execute(
            "UPDATE webhook_deliveries SET status = 3, last_error = @Reason WHERE id = @Id AND status = 0",
            new { Id = deliveryId, Reason = reason }, w.Transaction), cancellationToken);

    private static void End(WriteContext w, IReadOnlyList<string> ids, long at)
    {
        w.Connection.Execute("UPDATE webhooks SET deleted_at_ms = @At, active = 0 WHERE webhook_id IN @Ids", new { At = at, Ids = ids }, w.Transaction);
        w.Connection.Execute("UPDATE webhook_deliveries SET status = 3 WHERE webhook_id IN @Ids AND status = 0", new { Ids = ids }, w.Transaction);
        w.Routes = Outbox.LoadRoutes(w.Connection, w.Transaction);
    }

    /// <summary>
    /// Queues the events after <paramref name="cursor"/> that the subscription's outbox filter matches (at most the
    /// newest <see cref="SubscriptionWrite.ReplayCeiling"/>, none older than the floor); true when any was skipped.
    /// </summary>
    private static bool Replay(WriteContext w, SubscriptionWrite s, long cursor, long now)
    {
        var c = w.Connection;
        var tx = w.Transaction;
        const string Candidates =
            """
            id > @Cursor AND substr(channel, 1, length(@Prefix)) = @Prefix
            AND (@Types IS NULL OR event_type IN (SELECT value FROM json_each(@Types)))
            """;
        var args = new DynamicParameters(new
        {
            Cursor = cursor,
            Prefix = s.Channel,
            Types = Outbox.SerializeTypes(s.EventTypes),
            Floor = s.ReplayFloor?.ToUnixTimeMilliseconds() ?? long.MinValue,
            Limit = s.ReplayCeiling + 1,
        });
        var truncated = cursor < c.ExecuteScalar<long>("SELECT deleted_through FROM retention_state", transaction: tx);
        var ids = c.Query<long>($"SELECT id FROM events WHERE {Candidates} AND timestamp_ms >= @Floor ORDER BY id DESC LIMIT @Limit", args, tx).ToList();
        if (ids.Count > s.ReplayCeiling)
        {
            truncated = true;
            ids.RemoveAt(ids.Count - 1);
        }

        args.Add("Upper", ids.Count > 0 ? ids[^1] : long.MaxValue);
        truncated |= c.ExecuteScalar<long>($"SELECT EXISTS (SELECT 1 FROM events WHERE {Candidates} AND id < @Upper AND timestamp_ms < @Floor)", args, tx) == 1;
        ids.Reverse();
        var insert = w.Command(
            """
            INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, retry_index, next_attempt_ms, created_at_ms)
            VALUES ($webhook, $event, 0, 0, 0, $now, $now)
            """);
        foreach (var id in ids)
        {
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$webhook", s.Id);
            insert.Parameters.AddWithValue("$event", id);
            insert.Parameters.AddWithValue("$now", now);
            insert.ExecuteNonQuery();
        }

        if (ids.Count > 0)
        {
            w.QueuedWebhooks.Add(s.Id);
        }

        return truncated;
    }

    /// <summary>The safe-to-persist cursor: before the oldest pending delivery, else the tip.</summary>
    private static long Watermark(SqliteConnection c, SqliteTransaction? tx, string id) =>
        c.ExecuteScalar<long?>("SELECT MIN(event_id) FROM webhook_deliveries WHERE webhook_id = @Id AND status = 0", new { Id = id }, tx) is { } first
            ? first - 1
            : c.ExecuteScalar<long>(Sql.Tip, transaction: tx);
}
