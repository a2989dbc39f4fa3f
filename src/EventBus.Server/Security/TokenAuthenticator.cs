using System.Collections.Concurrent;
using System.Security.Claims;
using EventBus.Core.Security;
using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Security;

/// <summary>
/// Checks bearer tokens against the token table. Authentication is on when the server is bound to a network address
/// or any token was ever created (revoking the last one does not open the bus); off only on loopback before the
/// first token (zero setup, as before tokens). Lookups are cached
/// for a second, so a token created or revoked with <c>eventbus token</c> (another process) counts within a second.
/// </summary>
internal sealed class TokenAuthenticator(ITokenStore tokens, IOptions<ServerOptions> options, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, (AccessToken? Token, long At)> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<AccessToken, (Caller Caller, ClaimsPrincipal Principal)> _principals = new();
    private (bool Required, long At)? _required;

    /// <summary>
    /// Makes <paramref name="token"/> the request's caller (for scope checks and session ownership) and user (for
    /// per-caller limits). One caller and principal per token, made once (nothing mutates them): no allocations per request.
    /// </summary>
    public Caller SignIn(HttpContext context, AccessToken token)
    {
        var (caller, principal) = _principals.GetOrAdd(token, static t => (new Caller(t), new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(CallerKey.TokenIdClaim, t.TokenId), new Claim(ClaimTypes.Name, t.Name), new Claim(ClaimTypes.Role, TokenSecrets.ScopeName(t.Scope))],
            authenticationType: "Bearer"))));
        caller.Attach(context);
        context.User = principal;
        return caller;
    }

    /// <summary>Whether requests must carry a token.</summary>
    public async ValueTask<bool> IsRequiredAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.IsLoopback && !options.Value.InsecureNoAuth)
        {
            return true;
        }

        if (_required is { } cached && time.GetElapsedTime(cached.At) < CacheFor)
        {
            return cached.Required;
        }

        var required = await tokens.CountTokensAsync(cancellationToken) > 0;
        _required = (required, time.GetTimestamp());
        return required;
    }

    /// <summary>The token for this secret, or why it cannot be used.</summary>
    public async ValueTask<(AccessToken? Token, string? Problem)> AuthenticateAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = TokenSecrets.Hash(secret);
        AccessToken? token;
        if (_byHash.TryGetValue(hash, out var cached) && time.GetElapsedTime(cached.At) < CacheFor)
        {
            token = cached.Token;
        }
        else
        {
            token = await tokens.FindTokenByHashAsync(hash, cancellationToken);
            if (token is not null)
            {
                // Only real tokens are cached: guessed ones would otherwise grow the cache without bound.
                _byHash[hash] = (token, time.GetTimestamp());
            }
        }

        var now = time.GetUtcNow();
        return token switch
        {
            null => (null, "the token is not known to this bus"),
            { RevokedAt: not null } => (null, $"the token \"{token.Name}\" was revoked"),
            { ExpiresAt: { } expires } when expires <= now => (null, $"the token \"{token.Name}\" expired at {expires:u}"),
            _ => (token, null),
        };
    }

    /// <summary>Forgets cached answers (after this process created or revoked a token).</summary>
    public void Invalidate()
    {
        _byHash.Clear();
        _required = null;
    }
}
