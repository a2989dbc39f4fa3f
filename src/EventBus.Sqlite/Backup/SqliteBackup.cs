using System.Globalization;
using Dapper;
using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite.Backup;

/// <summary>
/// Backup, restore and check of a SQLite bus file. A backup is <c>VACUUM INTO</c> on a connection of its own: one read
/// transaction, so the copy is the database as of one moment while the server goes on writing (WAL readers do not block
/// the writer), compacted, in a file any SQLite can open. A restore is file moves under the exclusive
/// <see cref="DatabaseLock"/>: the current database (with its WAL) is renamed aside, the checked backup copied in.
/// </summary>
public sealed class SqliteBackup(string databasePath, TimeProvider? time = null) : IStoreBackup
{
    private readonly string _path = Path.GetFullPath(databasePath);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <inheritdoc />
    public Task<BackupResult> BackupAsync(string file, CancellationToken cancellationToken) => Task.Run(() =>
    {
        RequireDatabase(_path);
        var target = Path.GetFullPath(file);
        if (target == _path)
        {
            throw new StoreMaintenanceException($"{file} is the database itself: name another file for the backup.");
        }

        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        // Written beside the target and renamed over it: a failed backup never leaves half a file under the real name.
        var partial = Path.Combine(directory, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        try
        {
            using (var connection = Open(_path, SqliteOpenMode.ReadWrite))
            {
                connection.Execute("VACUUM INTO @Partial", new { Partial = partial });
            }

            File.Move(partial, target, overwrite: true);
        }
        catch (SqliteException ex)
        {
            throw new StoreMaintenanceException($"cannot back up {_path} to {target}: {ex.Message}", ex);
        }
        finally
        {
            File.Delete(partial);
        }

        using var copy = Open(target, SqliteOpenMode.ReadOnly);
        return new BackupResult(target, new FileInfo(target).Length, SchemaVersion(copy), Count(copy));
    }, cancellationToken);

    /// <inheritdoc />
    public Task<RestoreResult> RestoreAsync(string file, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var source = Path.GetFullPath(file);
        RequireDatabase(source);
        CheckResult backup;
        using (var connection = Open(source, SqliteOpenMode.ReadOnly))
        {
            backup = Check(connection, source);
        }

        if (!backup.Ok)
        {
            throw new StoreMaintenanceException($"{source} is not a backup this EventBus can restore: {string.Join("; ", backup.Problems)}");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        using var exclusive = DatabaseLock.TryHoldExclusive(_path) ?? throw new StoreMaintenanceException(
            $"{_path} is in use (a running server, or another eventbus command, has it open): stop the server first " +
            "(systemctl --user stop eventbus; on macOS launchctl bootout gui/$(id -u)/dev.eventbus.server), then restore.");
        string? keptAs = null;
        if (File.Exists(_path))
        {
            keptAs = $"{_path}.before-restore-{_time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
            // The WAL goes with its database (SQLite finds it by name), so the kept copy opens with every commit it had.
            foreach (var suffix in new[] { "-wal", "-shm", "" })
            {
                if (File.Exists(_path + suffix))
                {
                    File.Move(_path + suffix, keptAs + suffix);
                }
            }
        }

        var partial = _path + ".restoring";
        File.Copy(source, partial, overwrite: true);
        File.Move(partial, _path);
        return new RestoreResult(backup.SchemaVersion, backup.Counts, keptAs);
    }, cancellationToken);

    /// <inheritdoc />
    public Task<CheckResult> CheckAsync(CancellationToken cancellationToken) => Task.Run(() =>
    {
        RequireDatabase(_path);
        using var connection = Open(_path, SqliteOpenMode.ReadOnly);
        return Check(connection, _path);
    }, cancellationToken);

    private static CheckResult Check(SqliteConnection connection, string location)
    {
        var problems = new List<string>();
        List<string> integrity;
        try
        {
            integrity = connection.Query<string>("PRAGMA integrity_check").ToList();
        }
        catch (SqliteException ex)
        {
            // Not a database at all ("file is not a database"), or damaged past reading.
            return new CheckResult(location, 0, Migrations.Latest, [$"cannot read it: {ex.Message}"], Empty);
        }

        if (integrity is not ["ok"])
        {
            problems.Add("integrity check failed: " + string.Join("; ", integrity.Take(5)));
        }

        var version = SchemaVersion(connection);
        if (version > Migrations.Latest)
        {
            problems.Add($"its schema is version {version}, newer than this EventBus knows ({Migrations.Latest}): upgrade EventBus first");
        }
        else if (version == 0 || connection.ExecuteScalar<long>("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'events'") == 0)
        {
            problems.Add("it is not an EventBus database (no schema version, no events table)");
            return new CheckResult(location, version, Migrations.Latest, problems, Empty);
        }

        return new CheckResult(location, version, Migrations.Latest, problems, Count(connection));
    }

    private static readonly StoreCounts Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0);

    private static StoreCounts Count(SqliteConnection c)
    {
        bool Has(string table) => c.ExecuteScalar<long>("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = @table", new { table }) > 0;
        long Scalar(string sql) => c.ExecuteScalar<long?>(sql) ?? 0;
        var events = c.QuerySingle<(long Count, long? First, long? Last)>("SELECT COUNT(*), MIN(id), MAX(id) FROM events");
        return new StoreCounts(
            events.Count, events.First ?? 0, events.Last ?? 0,
            Scalar("SELECT COUNT(*) FROM sessions"),
            Scalar("SELECT COUNT(*) FROM sessions WHERE deleted_at_ms IS NULL"),
            Has("webhooks") ? Scalar("SELECT COUNT(*) FROM webhooks WHERE deleted_at_ms IS NULL") : 0,
            Has("webhook_deliveries") ? Scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 0") : 0,
            Has("tokens") ? Scalar("SELECT COUNT(*) FROM tokens WHERE revoked_at_ms IS NULL") : 0,
            Has("retention_state") ? Scalar("SELECT deleted_through FROM retention_state WHERE id = 1") : 0);
    }

    private static int SchemaVersion(SqliteConnection connection) => connection.ExecuteScalar<int>("PRAGMA user_version");

    private static void RequireDatabase(string path)
    {
        if (!File.Exists(path))
        {
            throw new StoreMaintenanceException($"{path} does not exist.");
        }
    }

    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 30000");
        return connection;
    }
}
