using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Channels;
using EventBus.Core.Events;
using MQTTnet;
using MQTTnet.Protocol;

namespace EventBus.Server.Mqtt.Bridge;

/// <summary>
/// Events into MQTT messages, by the first out-rule whose channel pattern matches. Never: direct messages, and events
/// that came in through this same bridge (no loops).
/// </summary>
internal sealed class OutboundMapper
{
    private readonly string _origin;
    private readonly JsonSerializerOptions _json;
    private readonly (MqttOutRule Rule, ChannelPattern Pattern, string Prefix)[] _rules;

    public OutboundMapper(string bridgeName, IReadOnlyList<MqttOutRule> rules, JsonSerializerOptions json)
    {
        _origin = MqttTopics.BridgeOrigin(bridgeName);
        _json = json;
        _rules = rules.Select(r => (r, ChannelPattern.Parse(r.Channel!), LiteralPrefix(r.Channel!))).ToArray();
    }

    public bool Wants(BusEvent e) =>
        !MqttTopics.IsDirect(e.Channel) && e.SessionId != _origin && Array.Exists(_rules, r => r.Pattern.Matches(e.Channel));

    /// <summary>The message for an event it wants, or null when the rule makes no publishable topic of it.</summary>
    public MqttApplicationMessage? Map(BusEvent e)
    {
        var (rule, _, prefix) = Array.Find(_rules, r => r.Pattern.Matches(e.Channel));
        if (rule is null)
        {
            return null;
        }

        var tail = prefix.Length > 0 && e.Channel.StartsWith(prefix, StringComparison.Ordinal) ? e.Channel[prefix.Length..] : e.Channel;
        var topic = rule.Topic
            .Replace("{channel}", e.Channel, StringComparison.Ordinal)
            .Replace("{tail}", tail, StringComparison.Ordinal)
            .Replace("{event_type}", e.EventType, StringComparison.Ordinal);
        if (!MqttTopics.IsPublishable(topic))
        {
            return null;
        }

        var payload = rule.Format == "event" ? JsonSerializer.SerializeToUtf8Bytes(BusService.ToReply(e), _json) : MqttPayloads.ToBytes(e);
        return new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(rule.Qos == 0 ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(rule.Retain)
            .Build();
    }

    /// <summary>What precedes the pattern's first wildcard (<c>alerts:#</c>: <c>alerts:</c>); empty for an exact channel.</summary>
    private static string LiteralPrefix(string pattern)
    {
        var segments = pattern.Split(':');
        var wildcard = Array.FindIndex(segments, s => s is "*" or "#");
        return wildcard < 0 ? "" : string.Concat(segments.Take(wildcard).Select(s => s + ":"));
    }
}
