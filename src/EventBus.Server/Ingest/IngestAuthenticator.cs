using System.Security.Cryptography;
using System.Text;
using EventBus.Core.Channels;
using EventBus.Core.Security;
using EventBus.Core.Webhooks;
using EventBus.Server.Hosting;
using EventBus.Server.Security;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Ingest;

/// <summary>Who sent an ingest request, or why it is refused (401 unauthenticated, 403 not allowed on that channel).</summary>
internal readonly record struct IngestIdentity(string? Source, int Status, string? Refusal);

/// <summary>
/// Authenticates ingest requests: a configured source's token, or its secret verifying the sender's signature over the
/// exact body bytes (GitHub <c>X-Hub-Signature-256</c>, Standard Webhooks <c>webhook-signature</c>), or an access token
/// with the publish scope. Credentials that are presented must verify. Requests with none are accepted on a loopback
/// bind only until the first access token exists (behind a proxy or tunnel every peer arrives from loopback), and after
/// that only on the channels of a source that explicitly takes them. Direct messages (<c>session:…</c>) need a credential
/// that may write there: a source that lists such a pattern, or an access token with the publish scope.
/// </summary>
internal sealed class IngestAuthenticator(
    IOptions<IngestOptions> options, IOptions<ServerOptions> server, TokenAuthenticator tokens, TimeProvider time)
{
    /// <summary>The source name requests without credentials are recorded under.</summary>
    public const string LocalSource = "local";

    /// <summary>The source name prefix of a request authenticated by an access token.</summary>
    public const string TokenSourcePrefix = "token:";

    public async ValueTask<IngestIdentity> AuthenticateAsync(
        HttpContext context, ReadOnlyMemory<byte> body, string channel, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var o = options.Value;
        var token = BearerToken(request) ?? NonEmpty(request.Query["token"].ToString());
        var hubSignature = NonEmpty(request.Headers["X-Hub-Signature-256"].ToString());
        var standardSignature = NonEmpty(request.Headers["webhook-signature"].ToString());

        if (token is null && hubSignature is null && standardSignature is null)
        {
            return await WithoutCredentialsAsync(channel, o, cancellationToken);
        }

        foreach (var (name, source) in o.Sources)
        {
            if (Matches(source, token, hubSignature, standardSignature, request, body.Span, o))
            {
                return MayPublishTo(source, channel)
                    ? new IngestIdentity(name, 0, null)
                    : new IngestIdentity(null, StatusCodes.Status403Forbidden, ChannelRefusal(name, source, channel));
            }
        }

        if (token is not null && hubSignature is null && standardSignature is null)
        {
            var (access, problem) = await tokens.AuthenticateAsync(token, cancellationToken);
            if (access is not null)
            {
                var caller = tokens.SignIn(context, access);
                return caller.Has(TokenScope.Publish)
                    ? new IngestIdentity(TokenSourcePrefix + access.Name, 0, null)
                    : new IngestIdentity(null, StatusCodes.Status403Forbidden,
                        $"Forbidden: ingest publishes, so it needs a token with the publish scope; {caller.Describe()} may only read.");
            }

            if (problem is not null && !problem.Contains("not known", StringComparison.Ordinal))
            {
                return new IngestIdentity(null, StatusCodes.Status401Unauthorized, $"Unauthorized: {problem}.");
            }
        }

        var what = token is not null
            ? "The token is neither one of a configured ingest source nor an access token of this bus"
            : "The signature does not verify with any configured ingest source's secret";
        if (standardSignature is not null && token is null)
        {
            what += " (check webhook-id, webhook-timestamp within " + o.SignatureTolerance + " of the server's clock, and the secret)";
        }

        return new IngestIdentity(null, StatusCodes.Status401Unauthorized, what + ".");
    }

    private async ValueTask<IngestIdentity> WithoutCredentialsAsync(string channel, IngestOptions o, CancellationToken cancellationToken)
    {
        var tokensExist = await tokens.IsRequiredAsync(cancellationToken);
        if (!tokensExist && o.AllowUnauthenticated && server.Value.IsLoopback)
        {
            return new IngestIdentity(LocalSource, 0, null);
        }

        if (!ChannelName.IsDirect(channel))
        {
            foreach (var (name, source) in o.Sources)
            {
                if (source.Unauthenticated && source.Channels.Any(p => ChannelPattern.Parse(p).Matches(channel)))
                {
                    return new IngestIdentity(name, 0, null);
                }
            }
        }

        var why = tokensExist
            ? "This bus has access tokens, so ingest without credentials is refused, on loopback too (behind a proxy or tunnel " +
              "every peer arrives from loopback); a source may take unauthenticated requests on channels it lists " +
              "(EventBus:Ingest:Sources:<name>:Unauthenticated=true with Channels), never direct messages."
            : server.Value.IsLoopback
                ? "Unauthenticated ingest is turned off (EventBus:Ingest:AllowUnauthenticated=false)."
                : "Unauthenticated ingest is only accepted when the server is bound to loopback.";
        return new IngestIdentity(null, StatusCodes.Status401Unauthorized,
            "Ingest needs credentials: a source's token (Authorization: Bearer <token>, or ?token=), a signature its secret verifies " +
            "(X-Hub-Signature-256 from GitHub, webhook-signature from a Standard Webhooks sender), or an access token with the " +
            "publish scope; sources are configured under EventBus:Ingest:Sources. " + why);
    }

    /// <summary>A source's channels: any listed pattern; none listed means any channel but direct messages.</summary>
    private static bool MayPublishTo(IngestSource source, string channel) =>
        source.Channels.Count == 0
            ? !ChannelName.IsDirect(channel)
            : source.Channels.Any(p => ChannelPattern.Parse(p).Matches(channel));

    private static string ChannelRefusal(string name, IngestSource source, string channel) =>
        source.Channels.Count == 0
            ? $"Ingest source \"{name}\" may not publish direct messages (channel \"{channel}\"): list a session:… pattern in its " +
              $"Channels (EventBus:Ingest:Sources:{name}:Channels), or send an access token with the publish scope."
            : $"Ingest source \"{name}\" may not publish to channel \"{channel}\" (allowed: {string.Join(", ", source.Channels)}).";

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
