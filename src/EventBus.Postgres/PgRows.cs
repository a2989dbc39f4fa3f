using EventBus.Core.Sessions;

namespace EventBus.Postgres;

/// <summary>Statements shared by the parts of the store.</summary>
internal static class PgSql
{
    public const string CountLive = "SELECT COUNT(*)::int FROM sessions WHERE deleted_at_ms IS NULL";

    public const string SelectSession =
        """
        SELECT session_id AS SessionId, display_id AS DisplayId, name AS Name, machine AS Machine, cwd AS Cwd, repo AS Repo,
               client_id AS ClientId, registered_at_ms AS RegisteredAtMs, last_heartbeat_ms AS LastHeartbeatMs,
               cursor AS Cursor, deleted_at_ms AS DeletedAtMs, push_cursor AS PushCursor,
               owner_token_id AS OwnerTokenId
        FROM sessions
        """;
}

/// <summary>A <c>sessions</c> row as Dapper reads it.</summary>
internal sealed class PgSessionRow
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

    /// <summary>A row of <see cref="PgSql.SelectSession"/>'s columns, read by position.</summary>
    public static PgSessionRow Read(Npgsql.NpgsqlDataReader r) => new()
    {
        SessionId = r.GetString(0),
        DisplayId = r.GetString(1),
        Name = r.GetString(2),
        Machine = r.GetString(3),
        Cwd = r.GetString(4),
        Repo = r.GetString(5),
        ClientId = r.IsDBNull(6) ? null : r.GetString(6),
        RegisteredAtMs = r.GetInt64(7),
        LastHeartbeatMs = r.GetInt64(8),
        Cursor = r.IsDBNull(9) ? null : r.GetInt64(9),
        DeletedAtMs = r.IsDBNull(10) ? null : r.GetInt64(10),
        PushCursor = r.IsDBNull(11) ? null : r.GetInt64(11),
        OwnerTokenId = r.IsDBNull(12) ? null : r.GetString(12),
    };

    public Session ToSession() => new(
        SessionId, DisplayId, Name, Machine, Cwd, Repo, ClientId,
        DateTimeOffset.FromUnixTimeMilliseconds(RegisteredAtMs),
        DateTimeOffset.FromUnixTimeMilliseconds(LastHeartbeatMs),
        Cursor,
        DeletedAtMs is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null,
        PushCursor,
        OwnerTokenId);
}
