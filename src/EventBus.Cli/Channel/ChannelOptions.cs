using System.CommandLine;
using System.Globalization;
using EventBus.Cli.Client;
using EventBus.Cli.Monitor;

namespace EventBus.Cli.Channel;

/// <summary><c>eventbus channel</c>'s delivery and permission relay options, each with its environment variable.</summary>
internal sealed class ChannelOptions
{
    public const string RelayVariable = "EVENTBUS_PERMISSION_RELAY";
    public const string ApprovalsVariable = "EVENTBUS_APPROVALS_CHANNEL";
    public const string TimeoutVariable = "EVENTBUS_PERMISSION_TIMEOUT";

    public Option<string?> Delivery { get; } = new("--delivery")
    {
        Description = $"channel: push events as channel messages (default); monitor: leave them to `eventbus monitor` (the plugin's default; ${DeliveryMode.Variable})",
    };

    public Option<bool> PermissionRelay { get; } = new("--permission-relay")
    {
        Description = $"Relay Claude Code's permission prompts through the bus (${RelayVariable}=1); off by default",
    };

    public Option<string?> ApprovalsChannel { get; } = new("--approvals-channel")
    {
        Description = $"Where permission requests are published (default approvals:<repo>; ${ApprovalsVariable})",
    };

    public Option<string?> PermissionTimeout { get; } = new("--permission-timeout")
    {
        Description = $"How long a request waits for an answer before Claude Code's own prompt decides: 90s, 10m, 1h (default 10m; ${TimeoutVariable})",
    };

    public IEnumerable<Option> All => [Delivery, PermissionRelay, ApprovalsChannel, PermissionTimeout];

    /// <summary>The settings these options (and their variables) give.</summary>
    public ChannelSettings Apply(ChannelSettings settings, ParseResult parse, Func<string, string?> environment)
    {
        var relay = parse.GetValue(PermissionRelay) || environment(RelayVariable) is "1" or "true" or "yes";
        var timeoutText = parse.GetValue(PermissionTimeout) is { Length: > 0 } t ? t : environment(TimeoutVariable);
        var timeout = timeoutText is { Length: > 0 } ? ParseDuration(timeoutText) : settings.PermissionTimeout;
        return settings with
        {
            Push = DeliveryMode.Resolve(parse.GetValue(Delivery), environment, DeliveryMode.Channel) == DeliveryMode.Channel,
            PermissionRelay = relay,
            ApprovalsChannel = parse.GetValue(ApprovalsChannel) is { Length: > 0 } c ? c : environment(ApprovalsVariable) is { Length: > 0 } e ? e : null,
            PermissionTimeout = timeout,
        };
    }

    /// <summary>90s, 10m, 1h.</summary>
    /// <exception cref="CliUsageException">Anything else.</exception>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (char.ToLowerInvariant(text[^1]))
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
            }
        }

        throw new CliUsageException($"the permission timeout must be like 90s, 10m or 1h (got \"{text}\").");
    }
}
