using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Server.Tools;

namespace EventBus.Server.Mcp.Events;

/// <summary>
/// Writes an <c>EventOccurrence</c> <c>{eventId, name, timestamp, data, cursor?}</c>: <c>eventId</c> is the bus event
/// id (stable, so a client dedups across poll and push), <c>data</c> is the event exactly as get_events returns it.
/// </summary>
internal static class EventOccurrence
{
    public const string SubscriptionIdKey = "io.modelcontextprotocol/subscriptionId";

    public static void WriteMembers(Utf8JsonWriter json, BusEvent e, long? cursor)
    {
        json.WriteString("eventId", Cursor.Format(e.Id));
        json.WriteString("name", BusEventType.Name);
        json.WriteString("timestamp", Timestamps.ToWire(e.Timestamp));
        json.WritePropertyName("data");
        json.WriteRawValue(JsonSerializer.SerializeToUtf8Bytes(BusService.ToReply(e), ToolJson.Options), skipInputValidation: true);
        if (cursor is { } position)
        {
            json.WriteString("cursor", Cursor.Format(position));
        }
    }
}
