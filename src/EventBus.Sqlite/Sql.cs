namespace EventBus.Sqlite;

/// <summary>Statements shared by the writer and the readers.</summary>
internal static class Sql
{
    public const string Tip = "SELECT COALESCE(MAX(id), 0) FROM events";

    public const string CountLive = "SELECT COUNT(*) FROM sessions WHERE deleted_at_ms IS NULL";

    public const string SelectSession =
        """
        SELECT session_id AS SessionId, display_id AS DisplayId, name AS Name, machine AS Machine, cwd AS Cwd, repo AS Repo,
               client_id AS ClientId, registered_at_ms AS RegisteredAtMs, last_heartbeat_ms AS LastHeartbeatMs,
               cursor AS Cursor, deleted_at_ms AS DeletedAtMs, push_cursor AS PushCursor,
               owner_token_id AS OwnerTokenId
        FROM sessions
        """;
}
