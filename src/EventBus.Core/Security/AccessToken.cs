using System.Security.Cryptography;
using System.Text;

namespace EventBus.Core.Security;

/// <summary>
/// What a token may do. Read, Publish and Admin each include the ones before them; Approve (numbered after Admin so
/// stored scopes keep their values) is Publish plus answering permission requests, and Admin includes it too
/// (<see cref="TokenScopes.Includes"/>).
/// </summary>
public enum TokenScope
{
    /// <summary>Read events, follow streams and push, keep its own sessions (register, ack, subscribe).</summary>
    Read = 1,

    /// <summary>Read, and publish events (tools, REST, ingest is separate).</summary>
    Publish = 2,

    /// <summary>Everything: webhooks, any session, every direct message.</summary>
    Admin = 3,

    /// <summary>Publish, and answer agents' permission requests (<c>answer_permission</c>).</summary>
    Approve = 4,
}

/// <summary>Which scope includes which.</summary>
public static class TokenScopes
{
    /// <summary>True when a token with <paramref name="have"/> may do what needs <paramref name="need"/>.</summary>
    public static bool Includes(TokenScope have, TokenScope need) => have switch
    {
        TokenScope.Admin => true,
        TokenScope.Approve => need is TokenScope.Approve or TokenScope.Read or TokenScope.Publish,
        _ => need != TokenScope.Approve && have >= need,
    };
}

/// <summary>A stored access token: only the hash of its secret is kept.</summary>
public sealed record AccessToken(
    string TokenId,
    string Name,
    string Hash,
    TokenScope Scope,
    string? SessionPattern,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsUsable(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is not { } e || e > now);
}

/// <summary>Token secrets: made once, shown once, stored as a SHA-256 hash (they are 256 random bits, so a fast hash is enough).</summary>
public static class TokenSecrets
{
    public const string Prefix = "ebt_";

    public static string NewSecret() =>
        Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string NewId() => "tok_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string ScopeName(TokenScope scope) => scope switch
    {
        TokenScope.Read => "read",
        TokenScope.Publish => "publish",
        TokenScope.Approve => "approve",
        _ => "admin",
    };

    public static bool TryParseScope(string? text, out TokenScope scope)
    {
        scope = text?.Trim().ToLowerInvariant() switch
        {
            "read" => TokenScope.Read,
            "publish" => TokenScope.Publish,
            "admin" => TokenScope.Admin,
            "approve" => TokenScope.Approve,
            _ => 0,
        };
        return scope != 0;
    }
}

/// <summary>Where tokens are kept.</summary>
public interface ITokenStore
{
    Task CreateTokenAsync(AccessToken token, CancellationToken cancellationToken);

    Task<AccessToken?> FindTokenByHashAsync(string hash, CancellationToken cancellationToken);

    Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken);

    /// <summary>Revokes the token with this id or name; false when there is none (or it was already revoked).</summary>
    Task<bool> RevokeTokenAsync(string idOrName, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>How many tokens can still be used (not revoked, not expired).</summary>
    Task<int> CountUsableTokensAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>How many tokens were ever created (revoked and expired ones included).</summary>
    Task<int> CountTokensAsync(CancellationToken cancellationToken);
}
