using EventBus.Core.Channels;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Ingest;

/// <summary>Incoming webhooks (<c>POST /api/v1/ingest/{channel}</c>). Bound from <c>EventBus:Ingest</c>.</summary>
public sealed class IngestOptions
{
    /// <summary>
    /// Accept requests without credentials — only when the server is bound to a loopback address and until the first
    /// access token exists (a bus with tokens may be behind a tunnel or proxy, where every peer arrives from loopback).
    /// Default true. Set it to false when a tunnel or reverse proxy on this machine forwards outside traffic to a bus
    /// that has no tokens yet. A source can take unauthenticated requests on its own channels: <see cref="IngestSource.Unauthenticated"/>.
    /// </summary>
    public bool AllowUnauthenticated { get; set; } = true;

    /// <summary>How long a sender's delivery id (<c>X-GitHub-Delivery</c>, <c>webhook-id</c>, <c>Idempotency-Key</c>) is remembered. Default 7 days.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long an Alertmanager or Grafana notification (which carry no delivery id) is recognised by its content, so a
    /// retried notification is stored once while a later repeat of a still-firing alert is stored again. Default 10 min.
    /// </summary>
    public TimeSpan ContentDedupeWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How far a Standard Webhooks <c>webhook-timestamp</c> may be from now. Default 5 min.</summary>
    public TimeSpan SignatureTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Named senders and how each proves itself: <c>EventBus:Ingest:Sources:{name}:Token</c> etc.</summary>
    public Dictionary<string, IngestSource> Sources { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One sender allowed to ingest. At least one credential must be set, unless it takes unauthenticated requests.</summary>
public sealed class IngestSource
{
    /// <summary>
    /// Take requests that carry no credentials on this source's <see cref="Channels"/> (which must be listed), even once
    /// access tokens exist: for senders that cannot sign or send a token, on a network you trust. Never direct messages.
    /// </summary>
    public bool Unauthenticated { get; set; }

    /// <summary>A shared token, sent as <c>Authorization: Bearer &lt;token&gt;</c> or <c>?token=</c> (at least 16 characters).</summary>
    public string? Token { get; set; }

    /// <summary>The secret of a GitHub webhook: requests must carry a matching <c>X-Hub-Signature-256</c>.</summary>
    public string? GitHubSecret { get; set; }

    /// <summary>A Standard Webhooks secret (<c>whsec_…</c>): requests must carry matching <c>webhook-*</c> headers.</summary>
    public string? StandardWebhooksSecret { get; set; }

    /// <summary>
    /// Channel patterns this source may publish to (<c>alerts:#</c>, <c>repo:*</c>); empty: any channel except direct
    /// messages (<c>session:…</c>), which a source may publish only when a pattern here matches them.
    /// </summary>
    public List<string> Channels { get; set; } = [];
}

/// <summary>Checks <see cref="IngestOptions"/> at start-up.</summary>
internal sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestOptions o)
    {
        var errors = new List<string>();
        foreach (var (key, value) in new[]
                 {
                     ("IdempotencyWindow", o.IdempotencyWindow), ("ContentDedupeWindow", o.ContentDedupeWindow), ("SignatureTolerance", o.SignatureTolerance),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"EventBus:Ingest:{key} must be positive, in [d.]hh:mm:ss (got {value}).");
            }
        }

        foreach (var (source, s) in o.Sources)
        {
            var prefix = $"EventBus:Ingest:Sources:{source}";
            if (s.Unauthenticated)
            {
                if (s.Channels.Count == 0)
                {
                    errors.Add($"{prefix} takes requests without credentials, so it must list the Channels it may publish to ({prefix}:Channels:0=sensors:#).");
                }
            }
            else if (string.IsNullOrEmpty(s.Token) && string.IsNullOrEmpty(s.GitHubSecret) && string.IsNullOrEmpty(s.StandardWebhooksSecret))
            {
                errors.Add($"{prefix} needs Token, GitHubSecret or StandardWebhooksSecret (or Unauthenticated=true with Channels).");
            }

            if (s.Token is { Length: > 0 and < 16 })
            {
                errors.Add($"{prefix}:Token must be at least 16 characters (got {s.Token.Length}); e.g. openssl rand -hex 24.");
            }

            foreach (var pattern in s.Channels)
            {
                try
                {
                    ChannelPattern.Parse(pattern);
                }
                catch (Core.Bus.BusValidationException ex)
                {
                    errors.Add($"{prefix}:Channels: {ex.Message}");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
