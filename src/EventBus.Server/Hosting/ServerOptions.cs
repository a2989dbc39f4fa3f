using System.Net;
using EventBus.Core.Bus;
using EventBus.Server.Mcp;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Hosting;

/// <summary>
/// The server's settings, bound from the <c>EventBus</c> section (appsettings.json, <c>EventBus__*</c> environment
/// variables, <c>EVENTBUS_HOST</c>/<c>EVENTBUS_PORT</c>/<c>EVENTBUS_DB</c>, and the command line).
/// </summary>
public sealed class ServerOptions
{
    /// <summary>The address to listen on. Default <c>127.0.0.1</c> (this machine only).</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The TCP port. Default 8080; 0 picks a free port.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>The largest request body accepted, in bytes. Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Extra <c>Host</c> header names accepted besides loopback names and the bind address (DNS-rebinding guard).</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Browser origins allowed to call the API besides loopback ones, e.g. <c>https://dash.example</c>.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Serve a network bind without any token (everyone who can reach it may do everything). Off by default: bound to
    /// a non-loopback address, the server refuses to start until a token exists. A warning is logged every minute.
    /// </summary>
    public bool InsecureNoAuth { get; set; }

    /// <summary>Also write logs to this file (optional; a new file each day, the date before the extension).</summary>
    public string? LogFile { get; set; }

    /// <summary>
    /// Log one line per HTTP request (method, path, status, time) at Information. Off by default: a busy bus
    /// serves thousands of requests a second.
    /// </summary>
    public bool RequestLog { get; set; }

    /// <summary>HTTPS with a PEM certificate, when not behind a TLS proxy (e.g. <c>tailscale serve</c>).</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Per-caller rate limits and caps, and Kestrel's request limits (<c>EventBus:Limits</c>).</summary>
    public Limits.LimitsOptions Limits { get; set; } = new();

    /// <summary>True when <see cref="Host"/> is a loopback address or name.</summary>
    public bool IsLoopback =>
        Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(Host, out var address) && IPAddress.IsLoopback(address));
}

/// <summary>HTTPS settings (<c>EventBus:Tls</c>). Without a certificate the server speaks plain HTTP.</summary>
public sealed class TlsOptions
{
    /// <summary>The certificate (chain) as a PEM file. Setting it turns HTTPS on.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Its private key as a PEM file; may be left out when the certificate file holds the key too.</summary>
    public string? KeyPath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>Checks every setting at start-up so a bad value stops the server with a message naming it.</summary>
internal sealed class ServerOptionsValidator(IOptions<BusOptions> bus, IOptions<McpHttpOptions> mcp)
    : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var errors = new List<string>();
        if (!options.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(options.Host, out _))
        {
            errors.Add($"EventBus:Host must be an IP address or \"localhost\" (got \"{options.Host}\").");
        }

        if (options.Port is < 0 or > 65535)
        {
            errors.Add($"EventBus:Port must be between 0 and 65535 (got {options.Port}).");
        }

        if (!options.Tls.Enabled && !string.IsNullOrWhiteSpace(options.Tls.KeyPath))
        {
            errors.Add("EventBus:Tls:KeyPath is set but EventBus:Tls:CertificatePath is not: set both (PEM files) to serve HTTPS.");
        }

        if (options.MaxRequestBodyBytes is < 1024 or > 256L * 1024 * 1024)
        {
            errors.Add($"EventBus:MaxRequestBodyBytes must be between 1024 and 268435456 (got {options.MaxRequestBodyBytes}).");
        }

        ValidateLimits(options.Limits, errors);

        var b = bus.Value;
        if (b.MaxPayloadBytes < 1 || b.MaxPayloadBytes > options.MaxRequestBodyBytes / 2)
        {
            errors.Add($"EventBus:MaxPayloadBytes must be between 1 and half of EventBus:MaxRequestBodyBytes ({options.MaxRequestBodyBytes / 2}) (got {b.MaxPayloadBytes}).");
        }

        if (b.SessionTtl <= TimeSpan.Zero)
        {
            errors.Add($"EventBus:SessionTtl must be positive, e.g. \"1.00:00:00\" (one day) (got {b.SessionTtl}).");
        }

        if (b.ExpiryInterval <= TimeSpan.Zero)
        {
            errors.Add($"EventBus:ExpiryInterval must be positive, e.g. \"00:01:00\" (got {b.ExpiryInterval}).");
        }

        var m = mcp.Value;
        if (m.MaxSessions < 1)
        {
            errors.Add($"EventBus:Mcp:MaxSessions must be at least 1 (got {m.MaxSessions}).");
        }

        if (m.StreamQueueCapacity is < 16 or > 1_000_000)
        {
            errors.Add($"EventBus:Mcp:StreamQueueCapacity must be between 16 and 1000000 (got {m.StreamQueueCapacity}).");
        }

        if (m.StreamResendBytes is < 0 or > 1L << 40)
        {
            errors.Add($"EventBus:Mcp:StreamResendBytes must be between 0 and 1099511627776 (got {m.StreamResendBytes}).");
        }

        if (m.PendingResponseLimit is < 0 or > 10_000)
        {
            errors.Add($"EventBus:Mcp:PendingResponseLimit must be between 0 and 10000 (got {m.PendingResponseLimit}).");
        }

        foreach (var (key, value) in new[]
                 {
                     ("KeepAliveInterval", m.KeepAliveInterval), ("SessionIdleTimeout", m.SessionIdleTimeout), ("PruneInterval", m.PruneInterval),
                     ("StreamStallTimeout", m.StreamStallTimeout), ("PendingResponseExpiry", m.PendingResponseExpiry),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"EventBus:Mcp:{key} must be positive, in [d.]hh:mm:ss (got {value}).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateLimits(Limits.LimitsOptions l, List<string> errors)
    {
        foreach (var (key, value, max) in new[]
                 {
                     ("PublishPerSecond", l.PublishPerSecond, 1_000_000), ("RegisterPerMinute", l.RegisterPerMinute, 1_000_000),
                     ("MaxSessionsPerCaller", l.MaxSessionsPerCaller, 1_000_000), ("MaxStreamsPerCaller", l.MaxStreamsPerCaller, 1_000_000),
                     ("MinDataRateBytesPerSecond", l.MinDataRateBytesPerSecond, 1_000_000_000),
                 })
        {
            if (value < 0 || value > max)
            {
                errors.Add($"EventBus:Limits:{key} must be between 0 (no limit) and {max} (got {value}).");
            }
        }

        if (l.PublishPerSecond > 0 && l.PublishBurst is < 1 or > 10_000_000)
        {
            errors.Add($"EventBus:Limits:PublishBurst must be between 1 and 10000000 (got {l.PublishBurst}).");
        }

        if (l.RegisterPerMinute > 0 && l.RegisterBurst is < 1 or > 1_000_000)
        {
            errors.Add($"EventBus:Limits:RegisterBurst must be between 1 and 1000000 (got {l.RegisterBurst}).");
        }

        if (l.MaxRequestHeaderBytes is < 4096 or > 1024 * 1024)
        {
            errors.Add($"EventBus:Limits:MaxRequestHeaderBytes must be between 4096 and 1048576 (got {l.MaxRequestHeaderBytes}).");
        }

        if (l.MaxRequestHeaderCount is < 16 or > 10_000)
        {
            errors.Add($"EventBus:Limits:MaxRequestHeaderCount must be between 16 and 10000 (got {l.MaxRequestHeaderCount}).");
        }

        foreach (var (key, value) in new[] { ("RequestHeadersTimeout", l.RequestHeadersTimeout), ("KeepAliveTimeout", l.KeepAliveTimeout) })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"EventBus:Limits:{key} must be positive, in [d.]hh:mm:ss (got {value}).");
            }
        }

        // Kestrel checks data rates on a one-second heartbeat, and needs a grace period longer than it.
        if (l.MinDataRateBytesPerSecond > 0 && l.MinDataRateGracePeriod <= TimeSpan.FromSeconds(1))
        {
            errors.Add($"EventBus:Limits:MinDataRateGracePeriod must be longer than 1 second while EventBus:Limits:MinDataRateBytesPerSecond is on (got {l.MinDataRateGracePeriod}).");
        }
    }
}
