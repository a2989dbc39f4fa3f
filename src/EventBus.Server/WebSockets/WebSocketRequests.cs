using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Channels;
using EventBus.Core.Events;

namespace EventBus.Server.WebSockets;

/// <summary>The client messages of <c>/api/v1/ws</c>, read strictly: unknown fields and wrong types are refused by name.</summary>
internal static class WebSocketRequests
{
    /// <summary><c>{"subscribe":{"channel":...,"cursor":...,"session_id":...}}</c>, every field optional.</summary>
    public sealed record Subscribe(string? Channel, long? Cursor, string? SessionId);

    /// <summary><c>{"ack":"42","session_id":...}</c>.</summary>
    public sealed record Ack(string Cursor, string? SessionId);

    public static Subscribe ReadSubscribe(JsonElement subscribe)
    {
        if (subscribe.ValueKind != JsonValueKind.Object)
        {
            throw new BusValidationException("subscribe must be an object, like {\"channel\":\"all\",\"cursor\":\"42\"} (every field optional).");
        }

        string? channel = null, cursor = null, sessionId = null;
        foreach (var property in subscribe.EnumerateObject())
        {
            switch (property.Name)
            {
                case "channel": channel = String(property, "subscribe.channel"); break;
                case "cursor": cursor = String(property, "subscribe.cursor"); break;
                case "session_id": sessionId = String(property, "subscribe.session_id"); break;
                default: throw new BusValidationException($"subscribe has an unknown field \"{property.Name}\" (expected channel, cursor, session_id).");
            }
        }

        if (channel is not null)
        {
            ChannelName.Validate(channel);
        }

        long? position = null;
        if (cursor is not null)
        {
            position = Cursor.TryParse(cursor, out var after)
                ? after
                : throw new BusValidationException($"subscribe.cursor must be the decimal string of an event id, like \"42\" (got \"{cursor}\").");
        }

        return new Subscribe(channel, position, sessionId);
    }

    public static Ack ReadAck(JsonElement root, JsonElement ack)
    {
        var cursor = ack.ValueKind switch
        {
            JsonValueKind.String => ack.GetString()!,
            JsonValueKind.Number => ack.GetRawText(),
            _ => throw new BusValidationException("ack must be the cursor to save, like \"42\"."),
        };
        string? sessionId = null;
        if (root.TryGetProperty("session_id", out var session))
        {
            sessionId = session.ValueKind == JsonValueKind.String
                ? session.GetString()
                : throw new BusValidationException("session_id must be a string.");
        }

        return new Ack(cursor, sessionId);
    }

    private static string? String(JsonProperty property, string name) => property.Value.ValueKind switch
    {
        JsonValueKind.String when TextRules.TryGetString(property.Value, out var value) => value,
        JsonValueKind.String => throw new BusValidationException(TextRules.UnpairedSurrogate(name)),
        JsonValueKind.Null => null,
        _ => throw new BusValidationException($"{name} must be a string."),
    };
}
