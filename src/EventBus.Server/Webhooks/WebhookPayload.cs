using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventBus.Core.Events;

namespace EventBus.Server.Webhooks;

/// <summary>
/// The delivery body: the old bus's keys in its order (<c>event_id, event_type, payload, session_id, timestamp,
/// channel, correlation_id, signal_level</c>), then <c>title</c> and <c>tags</c> when set. The same bytes on every
/// attempt of a delivery, so a receiver can compare retries.
/// </summary>
internal static class WebhookPayload
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(BusEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + e.Payload.Length);
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteNumber("event_id", e.Id);
            json.WriteString("event_type", e.EventType);
            json.WriteString("payload", e.Payload);
            json.WriteString("session_id", e.SessionId);
            json.WriteString("timestamp", Timestamps.ToWire(e.Timestamp));
            json.WriteString("channel", e.Channel);
            if (e.CorrelationId is null)
            {
                json.WriteNull("correlation_id");
            }
            else
            {
                json.WriteString("correlation_id", e.CorrelationId);
            }

            json.WriteString("signal_level", e.SignalLevel.ToWire());
            if (e.Title is not null)
            {
                json.WriteString("title", e.Title);
            }

            if (e.Tags is { } tags)
            {
                json.WriteStartArray("tags");
                foreach (var tag in tags)
                {
                    json.WriteStringValue(tag);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
