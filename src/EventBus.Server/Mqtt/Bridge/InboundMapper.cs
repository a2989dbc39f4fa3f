using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Events;
using MQTTnet;

namespace EventBus.Server.Mqtt.Bridge;

/// <summary>An MQTT message into a publish request, by the first in-rule whose topic filter matches.</summary>
internal sealed class InboundMapper(string bridgeName, IReadOnlyList<MqttInRule> rules)
{
    /// <summary>The <c>session_id</c> events from this bridge carry: their origin, so they never go back out to it.</summary>
    public string Origin { get; } = MqttTopics.BridgeOrigin(bridgeName);

    /// <summary>The request for a message, or null when no rule covers its topic (a broker may send more than asked).</summary>
    public PublishRequest? Map(string topic, byte[] payload, bool retained)
    {
        var rule = rules.FirstOrDefault(r => MqttTopics.Matches(topic, r.Topic!));
        if (rule is null)
        {
            return null;
        }

        var (text, isBase64) = MqttPayloads.ToText(payload);
        var channel = rule.Channel.Replace("{topic}", topic, StringComparison.Ordinal).Replace("{bridge}", bridgeName, StringComparison.Ordinal);
        List<string>? tags = null;
        if (isBase64 || retained)
        {
            tags = [];
            if (isBase64)
            {
                tags.Add(MqttPayloads.Base64Tag);
            }

            if (retained)
            {
                tags.Add(MqttTopics.RetainedTag);
            }
        }

        return new PublishRequest(rule.EventType, text, Origin, channel, topic, tags, null, Level(rule, topic, isBase64 ? null : text));
    }

    private static string? Level(MqttInRule rule, string topic, string? text)
    {
        if (rule.LevelField is { } field && text is not null && FieldLevel(text, field) is { } fromPayload)
        {
            return fromPayload;
        }

        foreach (var (filter, level) in rule.LevelByTopic)
        {
            if (MqttTopics.Matches(topic, filter))
            {
                return level;
            }
        }

        return rule.Level;
    }

    /// <summary>The level named by a JSON payload's field, when the payload is JSON and the field holds a valid level.</summary>
    private static string? FieldLevel(string text, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var element = document.RootElement;
            foreach (var part in path.Split('.'))
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(part, out element))
                {
                    return null;
                }
            }

            return element.ValueKind == JsonValueKind.String && SignalLevels.TryParse(element.GetString(), out var level) ? level.ToWire() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
