using System.Security.Cryptography;
using System.Text;
using EventBus.Core.Channels;
using EventBus.Core.Webhooks;
using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Ingest;

/// <summary>Who sent an ingest request, or why it is refused (401 unauthenticated, 403 not allowed on that channel).</summary>
internal readonly record struct IngestIdentity(string? Source, int Status, string? Refusal);

/// <summary>
/// Authenticates ingest requests on their own (independent of any API tokens): a configured source's token, or its
/// secret verifying the sender's signature over the exact body bytes (GitHub <c>X-Hub-Signature-256</c>, Standard
/// Webhooks <c>webhook-signature</c>). Credentials that are presented must verify, even where unauthenticated
/// requests would be accepted; requests with none are accepted only on a loopback bind.
/// </summary>
internal sealed class IngestAuthenticator(IOptions<IngestOptions> options, IOptions<ServerOptions> server, TimeProvider time)
{
    /// <summary>The source name requests without credentials are recorded under.</summary>
    public const string LocalSource = "local";

    public IngestIdentity Authenticate(HttpRequest request, ReadOnlySpan<byte> body, string channel)
    {
        var o = options.Value;
        var token = BearerToken(request) ?? NonEmpty(request.Query["token"].ToString());
        var hubSignature = NonEmpty(request.Headers["X-Hub-Signature-256"].ToString());
        var standardSignature = NonEmpty(request.Headers["webhook-signature"].ToString());

        if (token is null && hubSignature is null && standardSignature is null)
        {
            if (o.AllowUnauthenticated && server.Value.IsLoopback)
            {
                return new IngestIdentity(LocalSource, 0, null);
            }

            return new IngestIdentity(null, StatusCodes.Status401Unauthorized,
                "Ingest needs credentials: a source's token (Authorization: Bearer <token>, or ?token=) or a signature its secret verifies " +
                "(X-Hub-Signature-256 from GitHub, webhook-signature from a Standard Webhooks sender); sources are configured under " +
                "EventBus:Ingest:Sources. " + (server.Value.IsLoopback
                    ? "Unauthenticated ingest is turned off (EventBus:Ingest:AllowUnauthenticated=false)."
                    : "Unauthenticated ingest is only accepted when the server is bound to loopback."));
        }

        foreach (var (name, source) in o.Sources)
        {
            if (Matches(source, token, hubSignature, standardSignature, request, body, o))
            {
                if (source.Channels.Count > 0 && !source.Channels.Any(p => ChannelPattern.Parse(p).Matches(channel)))
                {
                    return new IngestIdentity(null, StatusCodes.Status403Forbidden,
                        $"Ingest source \"{name}\" may not publish to channel \"{channel}\" (allowed: {string.Join(", ", source.Channels)}).");
                }

                return new IngestIdentity(name, 0, null);
            }
        }

        var what = token is not null ? "The token is not one of a configured ingest source" : "The signature does not verify with any configured ingest source's secret";
        if (standardSignature is not null && token is null)
        {
            what += " (check webhook-id, webhook-timestamp within " + o.SignatureTolerance + " of the server's clock, and the secret)";
        }

        return new IngestIdentity(null, StatusCodes.Status401Unauthorized, what + ".");
    }

    private bool Matches(
        IngestSource source, string? token, string? hubSignature, string? standardSignature, HttpRequest request, ReadOnlySpan<byte> body, IngestOptions o)
    {
        if (token is not null && !string.IsNullOrEmpty(source.Token) &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(source.Token)))
        {
            return true;
        }

        if (hubSignature is not null && !string.IsNullOrEmpty(source.GitHubSecret) &&
            WebhookSignatures.VerifySha256Hex(source.GitHubSecret, hubSignature, body))
        {
            return true;
        }

        return standardSignature is not null && !string.IsNullOrEmpty(source.StandardWebhooksSecret) &&
            WebhookSignatures.VerifyStandard(
                source.StandardWebhooksSecret, request.Headers["webhook-id"].ToString(), request.Headers["webhook-timestamp"].ToString(),
                standardSignature, body, time.GetUtcNow(), o.SignatureTolerance);
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? NonEmpty(header["Bearer ".Length..].Trim()) : null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
