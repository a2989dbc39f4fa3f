using EventBus.Core.Sessions;

namespace EventBus.Core.Security;

/// <summary>
/// Who a bus call acts for: the token behind it (null when the bus runs open) and whether it is an admin. A session
/// belongs to the token that registered it; only that token or an admin may act as it. Sessions from before the first
/// token belong to nobody, so only admins may act as them.
/// </summary>
/// <param name="TokenId">The caller's token, null when the bus runs without tokens.</param>
/// <param name="IsAdmin">Admins (and the open bus) may act as any session.</param>
/// <param name="Description">How refusals name the caller, e.g. <c>token "laptop" (scope publish)</c>.</param>
public sealed record Actor(string? TokenId, bool IsAdmin, string Description)
{
    /// <summary>No authentication: may act as every session.</summary>
    public static readonly Actor Open = new(null, true, "this caller");

    /// <summary>Whether this caller may act as a session owned by <paramref name="ownerTokenId"/>.</summary>
    public bool MayActAs(string? ownerTokenId) => IsAdmin || (ownerTokenId is not null && ownerTokenId == TokenId);

    /// <summary>Whether this caller may act as <paramref name="session"/>.</summary>
    public bool MayActAs(Session session) => MayActAs(session.OwnerTokenId);

    /// <summary>The refusal when it may not.</summary>
    public string Refusal(string sessionId) =>
        $"Forbidden: session {sessionId} belongs to another token; {Description} may act only as its own sessions.";
}
