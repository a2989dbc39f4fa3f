namespace EventBus.Sqlite;

/// <summary>Where and how the embedded store keeps its file. Bound from <c>EventBus:Store</c>.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The database file. Default: <c>$XDG_DATA_HOME/eventbus/bus.db</c>, else <c>~/.local/share/eventbus/bus.db</c>.</summary>
    public string Path { get; set; } = DefaultPath();

    /// <summary>
    /// SQLite's <c>synchronous</c> setting under WAL. <c>Normal</c> (default): a commit survives a crash of the process;
    /// a power cut may lose the last moments. <c>Full</c>: every commit group is fsynced.
    /// </summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Normal;

    /// <summary>How long a connection waits on a lock held by another process before failing. Default 5 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most writes committed in one transaction. Default 512.</summary>
    public int MaxGroupSize { get; set; } = 512;

    /// <summary>How often committed WAL frames are copied into the database file. Default 1 s.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>WAL size (in pages) past which a checkpoint holds writers back to restart the WAL. Default 16,384 (64 MiB of 4 KiB pages).</summary>
    public long MaxWalFrames { get; set; } = 16_384;

    /// <summary>The schema version this EventBus's SQLite store migrates a file to (<c>PRAGMA user_version</c>).</summary>
    public static int SchemaVersion => Migrations.Latest;

    /// <summary>The default database path.</summary>
    public static string DefaultPath()
    {
        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(dataHome))
        {
            dataHome = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        }

        return System.IO.Path.Combine(dataHome, "eventbus", "bus.db");
    }
}

/// <summary>SQLite durability levels offered.</summary>
public enum SqliteSynchronous
{
    /// <summary>Durable against process crashes.</summary>
    Normal,

    /// <summary>Durable against power loss.</summary>
    Full,
}
