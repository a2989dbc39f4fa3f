using EventBus.Core.Channels;
using MQTTnet;

namespace EventBus.Server.Mqtt;

/// <summary>Topic ↔ channel rules shared by the bridge and the endpoint.</summary>
internal static class MqttTopics
{
    /// <summary>The endpoint's mapping: topic <c>a/b</c> is channel <c>mqtt:a/b</c>.</summary>
    public const string ChannelPrefix = "mqtt:";

    /// <summary>The tag of an event that came from a retained message.</summary>
    public const string RetainedTag = "retained";

    public static string BridgeOrigin(string bridgeName) => "mqtt-bridge:" + bridgeName;

    public static bool Matches(string topic, string filter) =>
        MqttTopicFilterComparer.Compare(topic, filter) == MqttTopicFilterCompareResult.IsMatch;

    /// <summary>Whether a topic may be published to: not empty, no wildcards, no NUL.</summary>
    public static bool IsPublishable(string topic) =>
        topic.Length > 0 && topic.IndexOfAny(['+', '#', '\0']) < 0;

    /// <summary>Direct messages (<c>session:…</c>) never leave the bus over MQTT.</summary>
    public static bool IsDirect(string channel) => ChannelName.IsDirect(channel);
}
