namespace EventBus.Core.Store;

/// <summary>
/// Backup, restore and check of one store's database, for the <c>eventbus backup|restore|check</c> commands. The SQLite
/// store implements it with <c>VACUUM INTO</c> (online, one consistent snapshot while the server writes) and file
/// moves; a PostgreSQL store would run <c>pg_dump --format=custom</c> / <c>pg_restore --clean</c> and SQL counts.
/// </summary>
/// <remarks>
/// The contract: <see cref="BackupAsync"/> works while a server runs and never blocks its writes for long;
/// <see cref="RestoreAsync"/> refuses (<see cref="StoreMaintenanceException"/>) while anything holds the database,
/// refuses a backup whose schema is newer than this build knows or that fails its integrity check, and never destroys
/// the database it replaces (it is kept beside it, named in the result); <see cref="CheckAsync"/> only reads.
/// Webhook-secret keys live outside the store and are the caller's to copy.
/// </remarks>
public interface IStoreBackup
{
    /// <summary>Writes a consistent copy of the database to <paramref name="file"/> (replacing one that is there).</summary>
    Task<BackupResult> BackupAsync(string file, CancellationToken cancellationToken);

    /// <summary>Replaces the database with the backup in <paramref name="file"/>, keeping the old one aside.</summary>
    Task<RestoreResult> RestoreAsync(string file, CancellationToken cancellationToken);

    /// <summary>Checks the database's integrity and schema version, and counts what it holds.</summary>
    Task<CheckResult> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>What a backup wrote.</summary>
public sealed record BackupResult(string File, long Bytes, int SchemaVersion, StoreCounts Counts);

/// <summary>What a restore put in place, and where the database it replaced was kept (null: there was none).</summary>
public sealed record RestoreResult(int SchemaVersion, StoreCounts Counts, string? PreviousKeptAs);

/// <summary>What a check found. <see cref="Problems"/> is empty when the database is sound and this build can open it.</summary>
public sealed record CheckResult(string Location, int SchemaVersion, int LatestSchemaVersion, IReadOnlyList<string> Problems, StoreCounts Counts)
{
    /// <summary>True when nothing is wrong.</summary>
    public bool Ok => Problems.Count == 0;
}

/// <summary>How much a database holds.</summary>
public sealed record StoreCounts(
    long Events, long FirstEventId, long LastEventId, long Sessions, long LiveSessions, long Webhooks, long PendingDeliveries,
    long Tokens, long DeletedThrough);

/// <summary>A backup, restore or check that cannot be done; the message says why and what to do.</summary>
public sealed class StoreMaintenanceException(string message, Exception? inner = null) : Exception(message, inner);
