namespace EventBus.Sqlite.Backup;

/// <summary>
/// Who has a database open: every <see cref="SqliteDatabase"/> (the server, the <c>eventbus token</c> commands) holds a
/// shared lock on <c>&lt;database&gt;.lock</c> while it is open; a restore takes it exclusively, so it cannot replace a
/// file something is using. A separate file, because an advisory lock on the database file itself would share the
/// file with SQLite's own POSIX locks, which closing any handle to the file releases. The OS drops the lock when the
/// process ends, even by <c>kill -9</c>.
/// </summary>
internal static class DatabaseLock
{
    public static string PathOf(string databasePath) => Path.GetFullPath(databasePath) + ".lock";

    /// <summary>Holds the shared lock until disposed (many holders at once are fine).</summary>
    public static FileStream HoldShared(string databasePath) =>
        new(PathOf(databasePath), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>The exclusive lock, or null while anyone holds the database open.</summary>
    public static FileStream? TryHoldExclusive(string databasePath)
    {
        try
        {
            return new FileStream(PathOf(databasePath), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
