namespace EventBus.Postgres;

/// <summary>How the PostgreSQL store reaches its database and commits. Bound from <c>EventBus:Store</c>.</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>The database, as <c>postgres://user:password@host:port/database?Npgsql+Setting=value</c>.</summary>
    public string Path { get; set; } = "";

    /// <summary>The most writes committed in one transaction. Default 512.</summary>
    public int MaxGroupSize { get; set; } = 512;

    /// <summary>
    /// How often each node reads the log for commits it heard nothing about (a lost notification, a listener that was
    /// down) and wakes webhook lanes with pending work. Default 2 s.
    /// </summary>
    public TimeSpan BackstopInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a node's claim on a webhook's lane lasts without renewal (a dead node's lapses). Default 30 s.</summary>
    public TimeSpan WebhookLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>True when <paramref name="path"/> names a PostgreSQL database rather than a SQLite file.</summary>
    public static bool IsPostgresUrl(string? path) =>
        path is not null &&
        (path.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
         path.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase));
}
