using System.Text.Json;
using EventBus.Core.Events;
using EventBus.Core.Webhooks;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>An active webhook as the writer matches events against it (an events subscription only until it expires).</summary>
internal sealed record WebhookRoute(string WebhookId, WebhookFilter Filter, long? ExpiresAtMs = null);

/// <summary>
/// The transactional outbox: inside the transaction that inserts an event, one pending delivery per matching active
/// webhook. An event is never committed without its deliveries, and a delivery never exists without its event.
/// </summary>
internal static class Outbox
{
    public static WebhookRoute[] LoadRoutes(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            "SELECT webhook_id, channel, event_types, expires_at_ms FROM webhooks WHERE active = 1 AND deleted_at_ms IS NULL ORDER BY created_at_ms, webhook_id";
        using var reader = command.ExecuteReader();
        var routes = new List<WebhookRoute>();
        while (reader.Read())
        {
            var types = reader.IsDBNull(2) ? null : ParseTypes(reader.GetString(2));
            routes.Add(new WebhookRoute(reader.GetString(0), new WebhookFilter(reader.GetString(1), types), reader.IsDBNull(3) ? null : reader.GetInt64(3)));
        }

        return [.. routes];
    }

    /// <summary>Queues deliveries of a just-inserted event (called by the store's insert, on the writer).</summary>
    public static void Enqueue(WriteContext w, long eventId, string channel, string eventType, long timestampMs)
    {
        var routes = w.Routes;
        for (var i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            if (!route.Filter.Matches(channel, eventType) || timestampMs >= route.ExpiresAtMs)
            {
                continue;
            }

            var command = w.Command(
                """
                INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, retry_index, next_attempt_ms, created_at_ms)
                VALUES ($webhook, $event, 0, 0, 0, $now, $now)
                """);
            var p = command.Parameters;
            p.Clear();
            p.AddWithValue("$webhook", route.WebhookId);
            p.AddWithValue("$event", eventId);
            p.AddWithValue("$now", timestampMs);
            command.ExecuteNonQuery();
            w.QueuedWebhooks.Add(route.WebhookId);
        }
    }

    public static string? SerializeTypes(IReadOnlyList<string>? types) =>
        types is { Count: > 0 } ? JsonSerializer.Serialize(types, TagsJson.Default.IReadOnlyListString) : null;

    public static IReadOnlyList<string>? ParseTypes(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, TagsJson.Default.IReadOnlyListString);
}
