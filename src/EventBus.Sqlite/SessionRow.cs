using EventBus.Core.Sessions;

namespace EventBus.Sqlite;

/// <summary>A <c>sessions</c> row as Dapper reads it.</summary>
internal sealed class SessionRow
{
    public string SessionId { get; set; } = "";

    public string DisplayId { get; set; } = "";

    public string Name { get; set; } = "";

    public string Machine { get; set; } = "";

    public string Cwd { get; set; } = "";

    public string Repo { get; set; } = "";

    public string? ClientId { get; set; }

    public long RegisteredAtMs { get; set; }

    public long LastHeartbeatMs { get; set; }

    public long? Cursor { get; set; }

    public long? DeletedAtMs { get; set; }

    public long? PushCursor { get; set; }

    public string? OwnerTokenId { get; set; }

    public Session ToSession() => new(
        SessionId, DisplayId, Name, Machine, Cwd, Repo, ClientId,
        DateTimeOffset.FromUnixTimeMilliseconds(RegisteredAtMs),
        DateTimeOffset.FromUnixTimeMilliseconds(LastHeartbeatMs),
        Cursor,
        DeletedAtMs is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null,
        PushCursor,
        OwnerTokenId);
}
