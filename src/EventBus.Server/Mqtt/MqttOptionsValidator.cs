using EventBus.Core.Bus;
using EventBus.Core.Channels;
using EventBus.Core.Events;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Mqtt;

/// <summary>Checks <c>EventBus:Mqtt</c> at start-up; each failure names the setting and says what is wrong.</summary>
internal sealed class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    private static readonly string[] Schemes = ["mqtt", "mqtts", "ws", "wss"];

    public ValidateOptionsResult Validate(string? name, MqttOptions options)
    {
        var errors = new List<string>();
        if (options.Listen is < 0 or > 65535)
        {
            errors.Add($"EventBus:Mqtt:Listen must be a TCP port, 0-65535 (got {options.Listen}).");
        }

        foreach (var (bridgeName, bridge) in options.Bridges)
        {
            CheckBridge($"EventBus:Mqtt:Bridges:{bridgeName}", bridge, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckBridge(string at, MqttBridgeOptions bridge, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(bridge.Url))
        {
            errors.Add($"{at}:Url is required (the broker, like mqtt://broker:1883).");
        }
        else if (!Uri.TryCreate(bridge.Url, UriKind.Absolute, out var url) || !Schemes.Contains(url.Scheme) || url.Host.Length == 0)
        {
            errors.Add($"{at}:Url must be mqtt://host[:port], mqtts://…, ws://host[:port]/path or wss://… (got \"{bridge.Url}\").");
        }

        if (bridge.ProtocolVersion is not ("5" or "3.1.1"))
        {
            errors.Add($"{at}:ProtocolVersion must be \"5\" or \"3.1.1\" (got \"{bridge.ProtocolVersion}\").");
        }

        if (bridge.SessionExpiry < TimeSpan.Zero || bridge.SessionExpiry.TotalSeconds > uint.MaxValue)
        {
            errors.Add($"{at}:SessionExpiry must be between 0 and {uint.MaxValue} seconds (got {bridge.SessionExpiry}).");
        }

        if (bridge.KeepAlive < TimeSpan.FromSeconds(1) || bridge.KeepAlive.TotalSeconds > ushort.MaxValue)
        {
            errors.Add($"{at}:KeepAlive must be between 1 and {ushort.MaxValue} seconds (got {bridge.KeepAlive}).");
        }

        if (bridge.ReconnectDelay <= TimeSpan.Zero || bridge.ReconnectMaxDelay < bridge.ReconnectDelay)
        {
            errors.Add($"{at}: ReconnectDelay must be positive and at most ReconnectMaxDelay (got {bridge.ReconnectDelay} and {bridge.ReconnectMaxDelay}).");
        }

        if (bridge.In.Count == 0 && bridge.Out.Count == 0)
        {
            errors.Add($"{at} has no rules: give it In rules (topics into the bus) or Out rules (channels out to the broker), or both.");
        }

        for (var i = 0; i < bridge.In.Count; i++)
        {
            CheckIn($"{at}:In:{i}", bridge.In[i], errors);
        }

        for (var i = 0; i < bridge.Out.Count; i++)
        {
            CheckOut($"{at}:Out:{i}", bridge.Out[i], errors);
        }
    }

    private static void CheckIn(string at, MqttInRule rule, List<string> errors)
    {
        if (TopicFilterProblem(rule.Topic) is { } problem)
        {
            errors.Add($"{at}:Topic {problem}");
        }

        if (string.IsNullOrWhiteSpace(rule.EventType))
        {
            errors.Add($"{at}:EventType must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(rule.Channel))
        {
            errors.Add($"{at}:Channel must not be empty (default mqtt:{{topic}}).");
        }
        else if (!rule.Channel.Contains('{', StringComparison.Ordinal))
        {
            Check(errors, $"{at}:Channel", () => ChannelName.Validate(rule.Channel));
        }

        if (rule.Level is not null && !SignalLevels.TryParse(rule.Level, out _))
        {
            errors.Add($"{at}:Level must be one of {string.Join(", ", SignalLevels.Names)} (got \"{rule.Level}\").");
        }

        foreach (var (filter, level) in rule.LevelByTopic)
        {
            if (TopicFilterProblem(filter) is { } bad)
            {
                errors.Add($"{at}:LevelByTopic key \"{filter}\" {bad}");
            }

            if (!SignalLevels.TryParse(level, out _))
            {
                errors.Add($"{at}:LevelByTopic:{filter} must be one of {string.Join(", ", SignalLevels.Names)} (got \"{level}\").");
            }
        }

        if (rule.LevelField is { } field && (field.Length == 0 || field.Split('.').Any(p => p.Length == 0)))
        {
            errors.Add($"{at}:LevelField must be a field name or a dotted path, like \"severity\" or \"meta.level\" (got \"{field}\").");
        }
    }

    private static void CheckOut(string at, MqttOutRule rule, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(rule.Channel))
        {
            errors.Add($"{at}:Channel is required (a channel pattern, like alerts:# or repo:*).");
        }
        else
        {
            Check(errors, $"{at}:Channel", () => ChannelPattern.Parse(rule.Channel));
        }

        if (string.IsNullOrWhiteSpace(rule.Topic) || rule.Topic.Contains('+', StringComparison.Ordinal) || rule.Topic.Contains('#', StringComparison.Ordinal))
        {
            errors.Add($"{at}:Topic must be a topic template without wildcards, like \"eventbus/{{channel}}\" (got \"{rule.Topic}\").");
        }

        if (rule.Qos is not (0 or 1))
        {
            errors.Add($"{at}:Qos must be 0 or 1 (got {rule.Qos}).");
        }

        if (rule.Format is not ("payload" or "event"))
        {
            errors.Add($"{at}:Format must be \"payload\" or \"event\" (got \"{rule.Format}\").");
        }
    }

    /// <summary>Null when <paramref name="filter"/> is a valid MQTT topic filter, else what is wrong.</summary>
    public static string? TopicFilterProblem(string? filter)
    {
        if (string.IsNullOrEmpty(filter))
        {
            return "is required (an MQTT topic filter, like plant/# or plant/+/alarm).";
        }

        var levels = filter.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if ((level.Contains('#', StringComparison.Ordinal) && (level != "#" || i != levels.Length - 1)) ||
                (level.Contains('+', StringComparison.Ordinal) && level != "+"))
            {
                return $"\"{filter}\" is not a valid topic filter: '+' must be a whole level, '#' the whole last level.";
            }
        }

        return null;
    }

    private static void Check(List<string> errors, string at, Action check)
    {
        try
        {
            check();
        }
        catch (BusValidationException ex)
        {
            errors.Add($"{at}: {ex.Message}");
        }
    }
}
