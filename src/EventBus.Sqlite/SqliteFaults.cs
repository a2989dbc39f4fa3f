using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// Turns SQLite's answers for conditions outside the request (a full disk, a lock another process holds, a read-only
/// file) into <see cref="StoreUnavailableException"/> with a message that names the file and says what to do, and
/// remembers the last such fault until a write succeeds again, so /health can say the store is not writable.
/// </summary>
internal sealed class SqliteFaults(string path, TimeSpan busyTimeout)
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteReadOnly = 8;
    private const int SqliteIoErr = 10;
    private const int SqliteFull = 13;
    private const int SqliteCantOpen = 14;

    private volatile StoreUnavailableException? _current;

    /// <summary>The fault that stopped the last write, until a later write succeeds; null when writes work.</summary>
    public StoreUnavailableException? Current => _current;

    /// <summary>The fault <paramref name="ex"/> stands for, or null when it is something else (a bug, a constraint).</summary>
    public StoreUnavailableException? Translate(Exception ex)
    {
        if (ex is StoreUnavailableException already)
        {
            return already;
        }

        if (ex is not SqliteException sqlite)
        {
            return null;
        }

        var seconds = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds));
        return sqlite.SqliteErrorCode switch
        {
            SqliteFull or SqliteIoErr when IsDiskFull(sqlite) => new StoreUnavailableException(
                StoreFault.DiskFull,
                $"the disk holding the database {path} is full, so nothing can be stored; nothing already stored is lost. " +
                "Free some space: the bus recovers by itself within a few seconds.",
                sqlite)
            { RetryAfter = TimeSpan.FromSeconds(30) },
            SqliteBusy or SqliteLocked => new StoreUnavailableException(
                StoreFault.Locked,
                $"the database {path} is locked by another process (waited {busyTimeout.TotalSeconds:0.#} s, EventBus:Store:BusyTimeout). " +
                "Stop whatever holds it open (an sqlite3 shell in a transaction, a backup tool) and try again; nothing was changed.",
                sqlite)
            { RetryAfter = TimeSpan.FromSeconds(seconds) },
            SqliteReadOnly or SqliteCantOpen => new StoreUnavailableException(
                StoreFault.ReadOnly,
                $"the database {path} cannot be written ({sqlite.Message.TrimEnd('.')}). Check the file's and its folder's " +
                "permissions and that the disk is not mounted read-only; nothing was changed.",
                sqlite)
            { RetryAfter = TimeSpan.FromSeconds(30) },
            _ => null,
        };
    }

    /// <summary>Raised after a fault is recorded and after it clears (so /health's answer changed).</summary>
    public Core.Events.ChangeSignal Changed { get; } = new();

    /// <summary>Records <paramref name="fault"/> as the reason writes fail now.</summary>
    public void Record(StoreUnavailableException fault)
    {
        _current = fault;
        Changed.Notify();
    }

    /// <summary>A write committed: the store is writable again.</summary>
    public void Clear()
    {
        // Called after every commit: a read, not a volatile write each time, while nothing is wrong.
        if (_current is not null)
        {
            _current = null;
            Changed.Notify();
        }
    }

    // SQLITE_FULL is the usual answer; a failed write of the WAL or the journal on a full disk can also come back as an
    // I/O error whose OS error is ENOSPC.
    private static bool IsDiskFull(SqliteException ex) =>
        ex.SqliteErrorCode == SqliteFull ||
        ex.Message.Contains("disk is full", StringComparison.OrdinalIgnoreCase) ||
        ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);
}
