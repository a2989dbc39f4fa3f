namespace EventBus.Core.Sessions;

/// <summary>A registered agent session, live or deleted (unregistered or expired).</summary>
public sealed record Session(
    string SessionId,
    string DisplayId,
    string Name,
    string Machine,
    string Cwd,
    string Repo,
    string? ClientId,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastHeartbeat,
    long? Cursor,
    DateTimeOffset? DeletedAt,
    long? PushCursor = null,
    string? OwnerTokenId = null)
{
    /// <summary>True until the session is unregistered or expires.</summary>
    public bool IsLive => DeletedAt is null;
}
