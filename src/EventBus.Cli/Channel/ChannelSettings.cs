namespace EventBus.Cli.Channel;

/// <summary>How <c>eventbus channel</c> identifies itself and paces its retries.</summary>
internal sealed record ChannelSettings
{
    /// <summary>The session's name (default: repo/branch of the working directory).</summary>
    public required string Name { get; init; }

    /// <summary>Claude Code's session id (<c>CLAUDE_CODE_SESSION_ID</c>), so the hooks and the channel are one bus session.</summary>
    public string? ClientId { get; init; }

    public required string Machine { get; init; }

    public required string Cwd { get; init; }

    public required string StateDirectory { get; init; }

    /// <summary>
    /// False: the channel delivers no events (the plugin's monitor does; see <see cref="Monitor.DeliveryMode"/>) and
    /// only offers the tools (and the permission relay).
    /// </summary>
    public bool Push { get; init; } = true;

    /// <summary>Relay Claude Code's permission prompts through the bus (<c>--permission-relay</c>); off by default.</summary>
    public bool PermissionRelay { get; init; }

    /// <summary>Where permission requests are published (default <c>approvals:&lt;repo&gt;</c>).</summary>
    public string? ApprovalsChannel { get; init; }

    /// <summary>How long a permission request waits for an answer before it is left to Claude Code's own prompt.</summary>
    public TimeSpan PermissionTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Each call the channel makes to the bus (the stream has its own idle timeout).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first wait before registering again after a failure; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the channel refreshes its session's heartbeat (sessions expire after a day without one).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long subscriptions read from the bus are trusted (changes made through the channel apply at once).</summary>
    public TimeSpan SubscriptionsTtl { get; init; } = TimeSpan.FromSeconds(5);
}
