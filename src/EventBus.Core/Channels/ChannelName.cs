namespace EventBus.Core.Channels;

/// <summary>Channel conventions: <c>all</c>, <c>session:{id}</c> (direct), <c>repo:{name}</c>, <c>machine:{name}</c>.</summary>
public static class ChannelName
{
    /// <summary>The broadcast channel every session hears.</summary>
    public const string All = "all";

    /// <summary>The prefix of a direct-message channel.</summary>
    public const string DirectPrefix = "session:";

    /// <summary>Checks a channel name: not empty, at most 256 characters, no control characters.</summary>
    /// <exception cref="Bus.BusValidationException">It breaks a rule; the message says which.</exception>
    public static void Validate(string channel) => Bus.Validate.Name(channel, "channel");

    /// <summary>True for <c>session:&lt;id&gt;</c> channels.</summary>
    public static bool IsDirect(string channel) => channel.StartsWith(DirectPrefix, StringComparison.Ordinal);

    /// <summary>The direct channel of a session.</summary>
    public static string Direct(string sessionId) => DirectPrefix + sessionId;

    /// <summary>
    /// The channels a session is implicitly subscribed to: broadcasts, its own direct channel, its repo and machine.
    /// </summary>
    public static IReadOnlyList<string> ImpliedSubscriptions(string sessionId, string repo, string machine) =>
        [All, Direct(sessionId), "repo:" + repo, "machine:" + machine];
}
