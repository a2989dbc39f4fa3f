using Dapper;
using EventBus.Core.Webhooks;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// MCP Events webhook subscriptions on PostgreSQL: rows of <c>webhooks</c> with their key and expiry, so the outbox the
/// event insert fills (<see cref="PgEvents.InsertAsync"/>, which stops at the expiry) and the lanes serve them. Writes
/// go through the writer, whose group holds the event counter's lock: a subscription's replay and the events committed
/// after it never overlap or leave a gap.
/// </summary>
public sealed partial class PostgresWebhookStore
{
    private const string LiveSubscription = "event_name IS NOT NULL AND deleted_at_ms IS NULL AND expires_at_ms > @Now";

    /// <inheritdoc />
    public Task<SubscribeResult> SubscribeAsync(SubscriptionWrite s, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var c = w.Connection;
            var tx = w.Transaction;
            var now = s.Now.ToUnixTimeMilliseconds();
            var expires = s.Subscription.ExpiresAt.ToUnixTimeMilliseconds();
            var before = (await ReadWebhooksAsync(c, tx, "WHERE webhook_id = @id AND deleted_at_ms IS NULL", s.Id)).SingleOrDefault();
            if (before?.Subscription is { } live && live.ExpiresAt > s.Now)
            {
                await c.ExecuteAsync(
                    """
                    UPDATE webhooks SET secret = @Secret, expires_at_ms = @Expires, active = TRUE, disabled_reason = NULL, failing_since_ms = NULL
                    WHERE webhook_id = @Id
                    """,
                    new { Secret = s.ProtectedSecret, Expires = expires, s.Id }, tx);
                w.QueuedWebhooks.Add(s.Id);
                return new SubscribeResult(SubscribeStatus.Refreshed, await WatermarkAsync(w, s.Id), false, before);
            }

            var (mine, all) = await c.QuerySingleAsync<(long, long)>(
                $"SELECT COUNT(*) FILTER (WHERE principal = @Principal), COUNT(*) FROM webhooks WHERE {LiveSubscription}",
                new { s.Subscription.Principal, Now = now }, tx);
            if (mine >= s.MaxPerPrincipal)
            {
                return new SubscribeResult(SubscribeStatus.PrincipalLimit, 0, false, null);
            }

            if (all >= s.MaxTotal)
            {
                return new SubscribeResult(SubscribeStatus.TotalLimit, 0, false, null);
            }

            await c.ExecuteAsync("UPDATE webhook_deliveries SET status = 3 WHERE webhook_id = @Id AND status = 0", new { s.Id }, tx);
            await c.ExecuteAsync(
                """
                INSERT INTO webhooks (webhook_id, url, channel, event_types, active, created_at_ms, secret, failing_since_ms, disabled_reason,
                                      deleted_at_ms, principal, event_name, arguments, expires_at_ms)
                VALUES (@Id, @Url, @Channel, @Types, TRUE, @Now, @Secret, NULL, NULL, NULL, @Principal, @Name, @Arguments, @Expires)
                ON CONFLICT (webhook_id) DO UPDATE SET url = excluded.url, channel = excluded.channel, event_types = excluded.event_types,
                    active = TRUE, created_at_ms = excluded.created_at_ms, secret = excluded.secret, failing_since_ms = NULL,
                    disabled_reason = NULL, deleted_at_ms = NULL, principal = excluded.principal, event_name = excluded.event_name,
                    arguments = excluded.arguments, expires_at_ms = excluded.expires_at_ms
                """,
                new
                {
                    s.Id,
                    s.Url,
                    s.Channel,
                    Types = s.EventTypes is { Count: > 0 } types ? types.ToArray() : null,
                    Now = now,
                    Secret = s.ProtectedSecret,
                    s.Subscription.Principal,
                    s.Subscription.Name,
                    s.Subscription.Arguments,
                    Expires = expires,
                },
                tx);
            var truncated = s.Cursor is { } cursor && await ReplayAsync(w, s, cursor, now);
            return new SubscribeResult(SubscribeStatus.Created, await WatermarkAsync(w, s.Id), truncated, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> UnsubscribeAsync(string id, string principal, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(async w =>
        {
            var at = now.ToUnixTimeMilliseconds();
            var expires = await w.Connection.ExecuteScalarAsync<long?>(
                """
                SELECT expires_at_ms FROM webhooks
                WHERE webhook_id = @Id AND principal = @Principal AND event_name IS NOT NULL AND deleted_at_ms IS NULL FOR UPDATE
                """,
                new { Id = id, Principal = principal }, w.Transaction);
            if (expires is null)
            {
                return false;
            }

            await EndAsync(w, [id], at);
            return expires > at;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> RemoveExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync<IReadOnlyList<string>>(async w =>
        {
            var at = now.ToUnixTimeMilliseconds();
            var ids = (await w.Connection.QueryAsync<string>(
                "SELECT webhook_id FROM webhooks WHERE event_name IS NOT NULL AND deleted_at_ms IS NULL AND expires_at_ms <= @Now FOR UPDATE",
                new { Now = at }, w.Transaction)).ToList();
            if (ids.Count > 0)
            {
                await EndAsync(w, ids, at);
            }

            return ids;
        }, cancellationToken);

    /// <inheritdoc />
    public Task SkipDeliveryAsync(long deliveryId, string reason, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.ExecuteAsync(
            "UPDATE webhook_deliveries SET status = 3, last_error = @Reason WHERE id = @Id AND status = 0",
            new { Id = deliveryId, Reason = reason }, w.Transaction), cancellationToken);

    private static async Task EndAsync(PgWriteContext w, IReadOnlyList<string> ids, long at)
    {
        var array = ids.ToArray();
        await w.Connection.ExecuteAsync("UPDATE webhooks SET deleted_at_ms = @At, active = FALSE WHERE webhook_id = ANY (@Ids)",
            new { At = at, Ids = array }, w.Transaction);
        await w.Connection.ExecuteAsync("UPDATE webhook_deliveries SET status = 3 WHERE webhook_id = ANY (@Ids) AND status = 0",
            new { Ids = array }, w.Transaction);
    }

    /// <summary>As the SQLite store's: the newest matching events after the cursor, up to the ceiling, none older than the floor.</summary>
    private static async Task<bool> ReplayAsync(PgWriteContext w, SubscriptionWrite s, long cursor, long now)
    {
        var c = w.Connection;
        var tx = w.Transaction;
        const string Candidates = "id > @Cursor AND starts_with(channel, @Prefix) AND (@Types::text[] IS NULL OR event_type = ANY (@Types::text[]))";
        var args = new DynamicParameters(new
        {
            Cursor = cursor,
            Prefix = s.Channel,
            Types = s.EventTypes is { Count: > 0 } types ? types.ToArray() : null,
            Floor = s.ReplayFloor?.ToUnixTimeMilliseconds() ?? long.MinValue,
            Limit = s.ReplayCeiling + 1,
        });
        var truncated = cursor < await c.ExecuteScalarAsync<long>("SELECT deleted_through FROM retention_state", transaction: tx);
        var ids = (await c.QueryAsync<long>(
            $"SELECT id FROM events WHERE {Candidates} AND timestamp_ms >= @Floor ORDER BY id DESC LIMIT @Limit", args, tx)).ToList();
        if (ids.Count > s.ReplayCeiling)
        {
            truncated = true;
            ids.RemoveAt(ids.Count - 1);
        }

        args.Add("Upper", ids.Count > 0 ? ids[^1] : long.MaxValue);
        truncated |= await c.ExecuteScalarAsync<bool>(
            $"SELECT EXISTS (SELECT 1 FROM events WHERE {Candidates} AND id < @Upper AND timestamp_ms < @Floor)", args, tx);
        if (ids.Count > 0)
        {
            await c.ExecuteAsync(
                """
                INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, retry_index, next_attempt_ms, created_at_ms)
                SELECT @Webhook, id, 0, 0, 0, @Now, @Now FROM unnest(@Ids) AS id ORDER BY id
                """,
                new { Webhook = s.Id, Now = now, Ids = ids.ToArray() }, tx);
            w.QueuedWebhooks.Add(s.Id);
        }

        return truncated;
    }

    /// <summary>The safe-to-persist cursor: before the oldest pending delivery, else the tip.</summary>
    private static async Task<long> WatermarkAsync(PgWriteContext w, string id) =>
        await w.Connection.ExecuteScalarAsync<long?>(
            "SELECT MIN(event_id) FROM webhook_deliveries WHERE webhook_id = @Id AND status = 0", new { Id = id }, w.Transaction) is { } first
            ? first - 1
            : w.Tip;
}
