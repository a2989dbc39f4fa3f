using EventBus.Core.Security;

namespace EventBus.Server.Security;

/// <summary>
/// Who is calling: the access token of the request, or nobody when the bus runs without authentication (loopback
/// and no token configured), which may do everything, as before tokens existed.
/// </summary>
internal sealed record Caller(AccessToken? Token)
{
    private const string ItemKey = "eventbus.caller";

    /// <summary>No authentication: every scope, every session.</summary>
    public static readonly Caller Open = new((AccessToken?)null);

    public string? TokenId => Token?.TokenId;

    public TokenScope Scope => Token?.Scope ?? TokenScope.Admin;

    public bool IsAdmin => Scope == TokenScope.Admin;

    /// <summary>The token whose view of direct messages applies (null: sees them all).</summary>
    public string? DirectMessageFilter => Token is { Scope: not TokenScope.Admin } token ? token.TokenId : null;

    public bool Has(TokenScope scope) => TokenScopes.Includes(Scope, scope);

    /// <summary>The caller as the bus rules see it (which sessions it may act as, and how refusals name it).</summary>
    public Actor Actor => field ??= Token is null ? Actor.Open : new Actor(TokenId, IsAdmin, Describe());

    /// <summary>How to name the caller in an error message.</summary>
    public string Describe() => Token is { } t ? $"token \"{t.Name}\" (scope {TokenSecrets.ScopeName(t.Scope)})" : "this caller";

    public static Caller Of(HttpContext context) => context.Items[ItemKey] as Caller ?? Open;

    public void Attach(HttpContext context) => context.Items[ItemKey] = this;
}
