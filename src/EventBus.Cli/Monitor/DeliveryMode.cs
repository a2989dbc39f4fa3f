using EventBus.Cli.Client;

namespace EventBus.Cli.Monitor;

/// <summary>
/// Which of the plugin's two push paths delivers events to a session, so none is delivered twice: the monitor (a
/// background command whose stdout lines Claude Code shows the model; works in every launch) or the channel
/// (<c>notifications/claude/channel</c>; needs <c>claude --channels plugin:eventbus@eventbus</c>). Chosen by
/// <c>--delivery</c> or <c>EVENTBUS_DELIVERY</c>; both processes of one session read the same variable, and the one
/// not chosen delivers nothing. Unset, each command does its own job: <c>eventbus channel</c> pushes (as
/// <c>eventbus setup claude</c> configures it, with no monitor), <c>eventbus monitor</c> prints; the plugin passes
/// <c>--delivery ${EVENTBUS_DELIVERY:-monitor}</c> to its channel, so there the monitor is the default.
/// </summary>
internal static class DeliveryMode
{
    public const string Variable = "EVENTBUS_DELIVERY";
    public const string Channel = "channel";
    public const string Monitor = "monitor";

    /// <summary>The mode from the option, else the environment, else <paramref name="fallback"/>.</summary>
    /// <exception cref="CliUsageException">Neither channel nor monitor.</exception>
    public static string Resolve(string? option, Func<string, string?> environment, string fallback)
    {
        var (value, source) = option is { Length: > 0 } o ? (o, "--delivery")
            : environment(Variable) is { Length: > 0 } v ? (v, Variable)
            : (fallback, "default");
        value = value.Trim().ToLowerInvariant();
        return value is Channel or Monitor
            ? value
            : throw new CliUsageException($"{source} must be \"{Channel}\" or \"{Monitor}\" (got \"{value}\").");
    }
}
