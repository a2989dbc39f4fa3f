using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Core.Store;
using EventBus.Postgres;
using EventBus.Postgres.Backup;
using EventBus.Sqlite;
using EventBus.Sqlite.Backup;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus backup FILE</c>, <c>eventbus restore FILE</c> and <c>eventbus check</c>, on the bus host. A backup is two
/// things: <c>FILE</c>, a consistent copy of the database taken while the server runs, and <c>FILE.keys/</c>, the
/// webhook-secret keys (without them the restored webhooks' secrets cannot be decrypted). The store's part is behind
/// <see cref="IStoreBackup"/>; the keys are files beside the database (or <c>EventBus:Webhooks:KeysPath</c>).
/// </summary>
internal static class BackupCommands
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static Command Backup(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "Where to write the backup (replaced if it exists); the keys go to FILE.keys/" };
        var (db, keys) = Options();
        var command = new Command("backup", "Copy the database (consistent, while the server runs) and its webhook-secret keys") { file, db, keys };
        command.SetAction(context, async run =>
        {
            var (database, keysPath) = Locate(run, db, keys);
            return await RunAsync(run, async () =>
            {
                var result = await Store(database).BackupAsync(run.Get(file)!, run.CancellationToken);
                var copied = IsPostgres(database) ? 0 : CopyKeys(keysPath, result.File + ".keys", overwrite: true);
                if (run.Json)
                {
                    var json = Describe(result.Counts, result.SchemaVersion);
                    json["file"] = result.File;
                    json["bytes"] = result.Bytes;
                    json["keys"] = IsPostgres(database) ? null : result.File + ".keys";
                    json["key_files"] = copied;
                    run.WriteJson(json);
                    return;
                }

                await run.Out.WriteLineAsync(
                    $"Backed up {Name(database)} to {result.File} ({result.Bytes:N0} bytes, schema v{result.SchemaVersion}, {Summary(result.Counts)}).");
                await run.Out.WriteLineAsync(IsPostgres(database)
                    ? "Webhook-secret keys: in the database, so in the backup (keep it as private as the database)."
                    : copied > 0
                    ? $"Webhook-secret keys: {copied} file(s) in {result.File}.keys/ (keep them with the backup, as private as the keys folder)."
                    : $"No webhook-secret keys in {keysPath}: nothing to copy.");
            });
        });
        return command;
    }

    public static Command Restore(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "The backup to restore (made by eventbus backup); keys are taken from FILE.keys/" };
        var (db, keys) = Options();
        var command = new Command("restore", "Put a backup in place of the database (the server must be stopped; the old database is kept beside it)") { file, db, keys };
        command.SetAction(context, async run =>
        {
            var (database, keysPath) = Locate(run, db, keys);
            return await RunAsync(run, async () =>
            {
                var source = Path.GetFullPath(run.Get(file)!);
                var result = await Store(database).RestoreAsync(source, run.CancellationToken);
                var copied = IsPostgres(database) ? 0 : CopyKeys(source + ".keys", keysPath, overwrite: false);
                if (run.Json)
                {
                    var json = Describe(result.Counts, result.SchemaVersion);
                    json["database"] = Name(database);
                    json["previous_kept_as"] = result.PreviousKeptAs;
                    json["key_files"] = copied;
                    run.WriteJson(json);
                    return;
                }

                await run.Out.WriteLineAsync($"Restored {source} into {Name(database)} (schema v{result.SchemaVersion}, {Summary(result.Counts)}).");
                if (result.PreviousKeptAs is { } kept)
                {
                    await run.Out.WriteLineAsync($"The database it replaced is kept as {kept}.");
                }

                await run.Out.WriteLineAsync(IsPostgres(database)
                    ? "Webhook-secret keys: restored with the database."
                    : Directory.Exists(source + ".keys")
                    ? $"Webhook-secret keys: {copied} added to {keysPath}."
                    : $"No {source}.keys/ beside the backup: webhook secrets decrypt only if {keysPath} still has the keys they were made with.");
                await run.Out.WriteLineAsync("Start the server again; it migrates an older backup's schema on start.");
            });
        });
        return command;
    }

    public static Command Check(CliContext context)
    {
        var (db, _) = Options();
        var command = new Command("check", "Check the database: integrity, schema version, what it holds (exit 1 when something is wrong)") { db };
        command.SetAction(context, async run =>
        {
            var (database, _) = Locate(run, db, null);
            CheckResult? result = null;
            var code = await RunAsync(run, async () =>
            {
                result = await Store(database).CheckAsync(run.CancellationToken);
                if (run.Json)
                {
                    var json = Describe(result.Counts, result.SchemaVersion);
                    json["database"] = result.Location;
                    json["ok"] = result.Ok;
                    json["latest_schema_version"] = result.LatestSchemaVersion;
                    json["problems"] = new JsonArray([.. result.Problems.Select(p => (JsonNode)p)]);
                    run.WriteJson(json);
                    return;
                }

                await run.Out.WriteLineAsync(
                    $"{result.Location}: {(result.Ok ? "ok" : "PROBLEMS")}, schema v{result.SchemaVersion} (this EventBus: v{result.LatestSchemaVersion}), {Summary(result.Counts)}.");
                foreach (var problem in result.Problems)
                {
                    await run.Out.WriteLineAsync("  " + problem);
                }
            });
            return code == CliApp.Ok && result is { Ok: false } ? CliApp.Failed : code;
        });
        return command;
    }

    private static (Option<string?> Db, Option<string?> Keys) Options() =>
    (
        new Option<string?>("--db") { Description = "The EventBus database (default $EVENTBUS_DB, else ~/.local/share/eventbus/bus.db)" },
        new Option<string?>("--keys") { Description = "The webhook-secret keys folder (default: keys/ beside the database, or EventBus__Webhooks__KeysPath)" }
    );

    private static (string Database, string Keys) Locate(Invocation run, Option<string?> db, Option<string?>? keys)
    {
        var given = run.Get(db) ?? run.Context.Environment("EVENTBUS_DB") ?? SqliteStoreOptions.DefaultPath();
        if (IsPostgres(given))
        {
            // The key ring is a table of the database: no keys folder.
            return (given, "");
        }

        var database = Path.GetFullPath(given);
        var keysPath = (keys is null ? null : run.Get(keys)) ?? run.Context.Environment("EventBus__Webhooks__KeysPath")
            ?? Path.Combine(Path.GetDirectoryName(database)!, "keys");
        return (database, Path.GetFullPath(keysPath));
    }

    private static bool IsPostgres(string database) => PostgresStoreOptions.IsPostgresUrl(database);

    /// <summary>The database as messages name it (a URL without its password).</summary>
    private static string Name(string database) => IsPostgres(database) ? PostgresUrl.Redact(database) : database;

    // A postgres:// URL: pg_dump / pg_restore and SQL counts; anything else a SQLite file.
    private static IStoreBackup Store(string database) =>
        IsPostgres(database) ? new PostgresBackup(database) : new SqliteBackup(database);

    private static async Task<int> RunAsync(Invocation run, Func<Task> work)
    {
        try
        {
            await work();
            return CliApp.Ok;
        }
        catch (Exception ex) when (ex is StoreMaintenanceException or IOException or UnauthorizedAccessException or FormatException)
        {
            await run.Error.WriteLineAsync($"Failed: {ex.Message}");
            return CliApp.Failed;
        }
    }

    /// <summary>Copies the key files (*.xml) from one folder to another, owner-only; returns how many it wrote.</summary>
    private static int CopyKeys(string from, string to, bool overwrite)
    {
        if (!Directory.Exists(from))
        {
            return 0;
        }

        var files = Directory.GetFiles(from, "*.xml");
        if (files.Length == 0)
        {
            return 0;
        }

        var target = Directory.CreateDirectory(to);
        if (!OperatingSystem.IsWindows())
        {
            target.UnixFileMode = OwnerOnlyFolder;
        }

        var copied = 0;
        foreach (var file in files)
        {
            var destination = Path.Combine(to, Path.GetFileName(file));
            if (!overwrite && File.Exists(destination))
            {
                continue; // The same key (a key's file is named by its id and never changes).
            }

            File.Copy(file, destination, overwrite);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(destination, OwnerOnlyFile);
            }

            copied++;
        }

        return copied;
    }

    private static JsonObject Describe(StoreCounts counts, int schemaVersion) => new()
    {
        ["schema_version"] = schemaVersion,
        ["events"] = counts.Events,
        ["first_event_id"] = counts.FirstEventId,
        ["last_event_id"] = counts.LastEventId,
        ["sessions"] = counts.Sessions,
        ["live_sessions"] = counts.LiveSessions,
        ["webhooks"] = counts.Webhooks,
        ["pending_deliveries"] = counts.PendingDeliveries,
        ["tokens"] = counts.Tokens,
        ["deleted_through"] = counts.DeletedThrough,
    };

    private static string Summary(StoreCounts c) =>
        $"{c.Events} events (ids {c.FirstEventId}–{c.LastEventId}), {c.Sessions} sessions ({c.LiveSessions} live), " +
        $"{c.Webhooks} webhooks ({c.PendingDeliveries} deliveries pending), {c.Tokens} tokens";
}
