using EventBus.Core.Store;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Webhooks;

/// <summary>Outgoing webhooks. Bound from <c>EventBus:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// Allow deliveries to loopback, link-local, private, CGNAT/Tailscale and unique-local addresses (refused by default:
    /// the SSRF guard). Env shortcut <c>EVENTBUS_ALLOW_PRIVATE_WEBHOOKS=true</c>.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>
    /// Where the Data Protection keys that encrypt webhook secrets live. Default: <c>keys</c> beside the database file.
    /// Back it up with the database: without it, stored secrets cannot be read.
    /// </summary>
    public string? KeysPath { get; set; }

    /// <summary>The most requests in flight across all endpoints. Each endpoint has one at a time (that keeps its order). Default 64.</summary>
    public int MaxConcurrency { get; set; } = 64;

    /// <summary>How long one attempt may take, connection to last byte of the response. Default 15 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>An endpoint whose every attempt failed for this long is disabled. Default 5 days.</summary>
    public TimeSpan DisableAfter { get; set; } = TimeSpan.FromDays(5);

    /// <summary>The relative random spread of each retry delay (0.1 = ±10 %). Default 0.1.</summary>
    public double Jitter { get; set; } = 0.1;

    /// <summary>Finished deliveries (delivered, failed, cancelled) and their attempts are kept this long. Default 30 days.</summary>
    public TimeSpan DeliveryRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often old deliveries and expired ingest keys are pruned. Default 1 hour.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The lifetime an MCP Events subscription (<c>events/subscribe</c>) gets when the client suggests none. Default 1 hour.</summary>
    public TimeSpan SubscriptionTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest lifetime granted (also to <c>ttlMs: null</c>, "no expiry", which is never granted). Default 1 day.</summary>
    public TimeSpan MaxSubscriptionTtl { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The shortest lifetime granted: a shorter suggestion is raised to it (no refresh storms). Default 1 minute.</summary>
    public TimeSpan MinSubscriptionTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Live subscriptions one principal (a token, or this machine on a bus without tokens) may hold. Default 100.</summary>
    public int MaxSubscriptionsPerPrincipal { get; set; } = 100;

    /// <summary>Live subscriptions the whole bus may hold. Default 10000.</summary>
    public int MaxSubscriptions { get; set; } = 10_000;

    /// <summary>
    /// The keys folder in force: <see cref="KeysPath"/>, else <c>keys</c> in the store's data folder (beside the SQLite
    /// file), else <c>keys</c> in this user's EventBus data folder.
    /// </summary>
    public string ResolveKeysPath(StoreDescriptor store) =>
        !string.IsNullOrWhiteSpace(KeysPath)
            ? Path.GetFullPath(KeysPath)
            : Path.Combine(store.DataDirectory ?? DefaultDataDirectory(), "keys");

    private static string DefaultDataDirectory()
    {
        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        return Path.Combine(
            string.IsNullOrEmpty(dataHome) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share") : dataHome,
            "eventbus");
    }
}

/// <summary>Checks <see cref="WebhookOptions"/> at start-up.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions o)
    {
        var errors = new List<string>();
        if (o.MaxConcurrency is < 1 or > 10_000)
        {
            errors.Add($"EventBus:Webhooks:MaxConcurrency must be between 1 and 10000 (got {o.MaxConcurrency}).");
        }

        if (o.Timeout <= TimeSpan.Zero || o.Timeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"EventBus:Webhooks:Timeout must be positive and at most 00:05:00 (got {o.Timeout}).");
        }

        foreach (var (key, value) in new[] { ("DisableAfter", o.DisableAfter), ("DeliveryRetention", o.DeliveryRetention), ("PruneInterval", o.PruneInterval) })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"EventBus:Webhooks:{key} must be positive, in [d.]hh:mm:ss (got {value}).");
            }
        }

        foreach (var (key, value) in new[] { ("SubscriptionTtl", o.SubscriptionTtl), ("MaxSubscriptionTtl", o.MaxSubscriptionTtl), ("MinSubscriptionTtl", o.MinSubscriptionTtl) })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"EventBus:Webhooks:{key} must be positive, in [d.]hh:mm:ss (got {value}).");
            }
        }

        if (o.MinSubscriptionTtl > o.SubscriptionTtl || o.SubscriptionTtl > o.MaxSubscriptionTtl)
        {
            errors.Add($"EventBus:Webhooks: MinSubscriptionTtl <= SubscriptionTtl <= MaxSubscriptionTtl must hold (got {o.MinSubscriptionTtl}, {o.SubscriptionTtl}, {o.MaxSubscriptionTtl}).");
        }

        if (o.MaxSubscriptionsPerPrincipal < 1 || o.MaxSubscriptions < 1)
        {
            errors.Add($"EventBus:Webhooks:MaxSubscriptionsPerPrincipal and MaxSubscriptions must be at least 1 (got {o.MaxSubscriptionsPerPrincipal}, {o.MaxSubscriptions}).");
        }

        if (o.Jitter is < 0 or > 0.5)
        {
            errors.Add($"EventBus:Webhooks:Jitter must be between 0 and 0.5 (got {o.Jitter}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
