using EventBus.Core.Channels;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Ingest;

/// <summary>Incoming webhooks (<c>POST /api/v1/ingest/{channel}</c>). Bound from <c>EventBus:Ingest</c>.</summary>
public sealed class IngestOptions
{
    /// <summary>
    /// Accept requests without credentials — only when the server is bound to a loopback address (anything that can
    /// reach it then runs on this machine). Default true. Set it to false when a tunnel or reverse proxy on this machine
    /// forwards outside traffic to the bus.
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

/// <summary>One sender allowed to ingest. At least one credential must be set.</summary>
public sealed class IngestSource
{
    /// <summary>A shared token, sent as <c>Authorization: Bearer &lt;token&gt;</c> or <c>?token=</c> (at least 16 characters).</summary>
    public string? Token { get; set; }

    /// <summary>The secret of a GitHub webhook: requests must carry a matching <c>X-Hub-Signature-256</c>.</summary>
    public string? GitHubSecret { get; set; }

    /// <summary>A Standard Webhooks secret (<c>whsec_…</c>): requests must carry matching <c>webhook-*</c> headers.</summary>
    public string? StandardWebhooksSecret { get; set; }

    /// <summary>Channel patterns this source may publish to (<c>alerts:#</c>, <c>repo:*</c>); empty: any channel.</summary>
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
            if (string.IsNullOrEmpty(s.Token) && string.IsNullOrEmpty(s.GitHubSecret) && string.IsNullOrEmpty(s.StandardWebhooksSecret))
            {
                errors.Add($"{prefix} needs Token, GitHubSecret or StandardWebhooksSecret.");
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
