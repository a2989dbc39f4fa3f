using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Core.Webhooks;
using EventBus.Server.Webhooks;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Mcp.Events.Webhooks;

/// <summary>
/// The draft's endpoint verification (anti-flooding): before a new subscription may deliver to a callback URL, the
/// server POSTs a signed <c>{"type":"verification","challenge":"&lt;nonce&gt;"}</c> control envelope there, through
/// the same SSRF-guarded sender as deliveries, and the endpoint must answer 2xx with <c>{"challenge":"&lt;nonce&gt;"}</c>
/// (compared in constant time). A success is remembered per <c>(principal, url)</c> in memory for
/// <see cref="WebhookOptions.MaxSubscriptionTtl"/>, so other arguments to the same URL and refreshes do not repeat
/// it; a live subscription was verified when it was made, so refreshing one never asks again (after a restart either).
/// </summary>
internal sealed partial class EndpointVerifier(WebhookSender sender, IOptions<WebhookOptions> options, TimeProvider time, ILogger<EndpointVerifier> logger)
{
    private readonly ConcurrentDictionary<(string Principal, string Url), DateTimeOffset> _verified = new();

    public async Task VerifyAsync(string principal, string url, Uri uri, string secret, EventSubscription subscription, string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_verified.TryGetValue((principal, url), out var until) && until > now)
        {
            return;
        }

        var challenge = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["type"] = "verification", ["challenge"] = challenge });
        var messageId = ControlMessageId("verification");
        var target = new WebhookTarget(id, uri, secret) { Subscription = subscription };
        var (result, answer) = await sender.ExchangeAsync(target, messageId, body, cancellationToken);
        var reason = !result.Success ? Category(result.StatusCode, result.Error) : Echoes(answer, challenge) ? null : "challenge_failed";
        if (reason is not null)
        {
            LogRefused(logger, id, reason);
            throw EventsException.CallbackEndpointError(reason);
        }

        _verified[(principal, url)] = now + options.Value.MaxSubscriptionTtl;
    }

    /// <summary>A control envelope's <c>webhook-id</c>: <c>msg_&lt;type&gt;_&lt;random&gt;</c>.</summary>
    public static string ControlMessageId(string type) => $"msg_{type}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))}";

    /// <summary>A failure as one of the draft's categories, never the endpoint's own words (no response oracle).</summary>
    public static string Category(int? statusCode, string? error) => statusCode switch
    {
        >= 400 and < 500 => "http_4xx",
        >= 500 => "http_5xx",
        >= 300 => "challenge_failed",
        _ when error?.Contains("timed out", StringComparison.OrdinalIgnoreCase) == true => "timeout",
        _ when error?.Contains("SSL", StringComparison.Ordinal) == true || error?.Contains("TLS", StringComparison.Ordinal) == true => "tls_error",
        _ => "connection_refused",
    };

    private static bool Echoes(string? answer, string challenge)
    {
        try
        {
            if (answer is null || JsonNode.Parse(answer) is not JsonObject o || o["challenge"] is not JsonValue v || !v.TryGetValue<string>(out var echoed))
            {
                return false;
            }

            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(echoed), Encoding.UTF8.GetBytes(challenge));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 1922, Level = LogLevel.Information,
        Message = "MCP Events subscription {SubscriptionId} refused: its callback endpoint failed verification ({Reason})")]
    private static partial void LogRefused(ILogger logger, string subscriptionId, string reason);
}
