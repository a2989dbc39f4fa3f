namespace EventBus.Core.Events;

/// <summary>How loudly an event asks for attention. Ordered: lifecycle &lt; info &lt; actionable.</summary>
public enum SignalLevel
{
    /// <summary>Registration, watching and other churn.</summary>
    Lifecycle = 0,

    /// <summary>Ordinary chatter.</summary>
    Info = 1,

    /// <summary>Aimed at someone: direct messages, alerts, blockers.</summary>
    Actionable = 2,
}

/// <summary>Parsing, naming and the default-level rules of the agent-event-bus contract.</summary>
public static class SignalLevels
{
    private static readonly HashSet<string> LifecycleTypes = new(StringComparer.Ordinal)
    {
        "session_registered", "session_unregistered", "ci_watching", "ci_rerun", "task_started", "parallel_work_started",
    };

    private static readonly HashSet<string> ActionableTypes = new(StringComparer.Ordinal)
    {
        "help_needed", "blocker_found", "ci_failed", "error_broadcast",
    };

    /// <summary>The accepted spellings, for error messages and schemas.</summary>
    public static readonly IReadOnlyList<string> Names = ["lifecycle", "info", "actionable"];

    /// <summary>The wire name of a level.</summary>
    public static string ToWire(this SignalLevel level) => level switch
    {
        SignalLevel.Lifecycle => "lifecycle",
        SignalLevel.Info => "info",
        SignalLevel.Actionable => "actionable",
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "Unknown signal level."),
    };

    /// <summary>Parses an exact wire name (case-sensitive, as stored and sent).</summary>
    public static bool TryParse(string? value, out SignalLevel level)
    {
        switch (value)
        {
            case "lifecycle": level = SignalLevel.Lifecycle; return true;
            case "info": level = SignalLevel.Info; return true;
            case "actionable": level = SignalLevel.Actionable; return true;
            default: level = default; return false;
        }
    }

    /// <summary>
    /// The effective level of an event: an explicit level wins; a direct message (<c>session:*</c>) is actionable;
    /// otherwise the level follows the event type, and anything unlisted is info.
    /// </summary>
    public static SignalLevel Resolve(SignalLevel? explicitLevel, string channel, string eventType)
    {
        if (explicitLevel is { } level)
        {
            return level;
        }

        if (Channels.ChannelName.IsDirect(channel))
        {
            return SignalLevel.Actionable;
        }

        if (LifecycleTypes.Contains(eventType))
        {
            return SignalLevel.Lifecycle;
        }

        return ActionableTypes.Contains(eventType) ? SignalLevel.Actionable : SignalLevel.Info;
    }
}
