using System.Diagnostics;
using System.Globalization;
using Dapper;
using EventBus.Core.Store;
using Npgsql;

namespace EventBus.Postgres.Backup;

/// <summary>
/// Backup, restore and check of a PostgreSQL bus database with PostgreSQL's own tools. A backup is
/// <c>pg_dump --format=custom</c> of a snapshot this class exports (so the counts it reports are those of the dump, and
/// the nodes go on writing meanwhile). A restore refuses while any other session (a node, a token command, a psql) is
/// connected to the database, checks the dump's schema version, dumps the current database beside the backup (nothing
/// is destroyed), then runs <c>pg_restore --clean --if-exists --single-transaction</c>. The webhook-secret key ring is
/// a table of the database, so it travels in the dump.
/// </summary>
public sealed class PostgresBackup : IStoreBackup
{
    private readonly NpgsqlConnectionStringBuilder _settings;
    private readonly TimeProvider _time;
    private readonly string? _toolFolder;

    /// <param name="url">The database's <c>postgres://</c> URL.</param>
    /// <param name="time">The clock that names a kept database.</param>
    /// <param name="toolFolder">Where pg_dump and pg_restore are (null: PATH, then /usr/lib/postgresql/*/bin).</param>
    public PostgresBackup(string url, TimeProvider? time = null, string? toolFolder = null)
    {
        _settings = PostgresUrl.Parse(url);
        _settings.Pooling = false;
        _settings.ApplicationName ??= "eventbus-maintenance";
        _time = time ?? TimeProvider.System;
        _toolFolder = toolFolder;
        Location = PostgresUrl.Describe(_settings);
    }

    /// <summary>host:port/database (never the password).</summary>
    public string Location { get; }

    /// <inheritdoc />
    public async Task<BackupResult> BackupAsync(string file, CancellationToken cancellationToken)
    {
        var pgDump = FindTool("pg_dump");
        var target = Path.GetFullPath(file);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        var partial = Path.Combine(directory, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            // One snapshot for the counts and the dump: the transaction that exported it stays open while pg_dump runs.
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            var snapshot = await connection.ExecuteScalarAsync<string>("SELECT pg_export_snapshot()", transaction: transaction);
            var version = await SchemaVersionAsync(connection, transaction);
            if (version == 0)
            {
                throw new StoreMaintenanceException($"{Location} is not an EventBus database (no schema_migrations): nothing to back up.");
            }

            var counts = await CountAsync(connection, transaction);
            await RunToolAsync(pgDump, ["--format=custom", "--no-owner", "--no-privileges", $"--snapshot={snapshot}", $"--file={partial}"], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            File.Move(partial, target, overwrite: true);
            return new BackupResult(target, new FileInfo(target).Length, version, counts);
        }
        catch (Exception ex) when (ex is NpgsqlException)
        {
            throw new StoreMaintenanceException($"cannot back up {Location}: {ex.Message}", ex);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <inheritdoc />
    public async Task<RestoreResult> RestoreAsync(string file, CancellationToken cancellationToken)
    {
        var pgRestore = FindTool("pg_restore");
        var source = Path.GetFullPath(file);
        if (!File.Exists(source))
        {
            throw new StoreMaintenanceException($"{source} does not exist.");
        }

        var version = await BackupSchemaVersionAsync(pgRestore, source, cancellationToken);
        if (version > PostgresMigrations.Latest)
        {
            throw new StoreMaintenanceException(
                $"{source} is not a backup this EventBus can restore: its schema is version {version}, newer than this EventBus knows ({PostgresMigrations.Latest}): upgrade EventBus first");
        }

        try
        {
            string? keptAs = null;
            await using (var connection = await OpenAsync(cancellationToken))
            {
                var others = (await connection.QueryAsync<string>(
                    """
                    SELECT COALESCE(NULLIF(application_name, ''), 'a client') || ' (pid ' || pid || COALESCE(', ' || host(client_addr), '') || ')'
                    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                    """)).ToList();
                if (others.Count > 0)
                {
                    throw new StoreMaintenanceException(
                        $"{Location} is in use ({others.Count} other session(s): {string.Join(", ", others.Take(5))}): stop the server on " +
                        "every node first, then restore.");
                }

                if (await SchemaVersionAsync(connection, null) > 0)
                {
                    var stamp = _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
                    keptAs = Path.Combine(Path.GetDirectoryName(source)!, $"{_settings.Database}.before-restore-{stamp}.dump");
                    await RunToolAsync(FindTool("pg_dump"), ["--format=custom", "--no-owner", "--no-privileges", $"--file={keptAs}"], cancellationToken);
                }
            }

            await RunToolAsync(pgRestore, ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", $"--dbname={_settings.Database}", source], cancellationToken);
            await using var restored = await OpenAsync(cancellationToken);
            await DropTablesNotInAsync(restored, await BackupTablesAsync(pgRestore, source, cancellationToken), cancellationToken);
            return new RestoreResult(await SchemaVersionAsync(restored, null), await CountAsync(restored, null), keptAs);
        }
        catch (NpgsqlException ex)
        {
            throw new StoreMaintenanceException($"cannot restore into {Location}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public async Task<CheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            var version = await SchemaVersionAsync(connection, null);
            if (version == 0 || !await HasTableAsync(connection, null, "events"))
            {
                return new CheckResult(Location, version, PostgresMigrations.Latest,
                    ["it is not an EventBus database (no schema version, no events table)"], Empty);
            }

            var problems = new List<string>();
            if (version > PostgresMigrations.Latest)
            {
                problems.Add($"its schema is version {version}, newer than this EventBus knows ({PostgresMigrations.Latest}): upgrade EventBus first");
            }

            return new CheckResult(Location, version, PostgresMigrations.Latest, problems, await CountAsync(connection, null));
        }
        catch (NpgsqlException ex)
        {
            return new CheckResult(Location, 0, PostgresMigrations.Latest, [$"cannot read it: {ex.Message}"], Empty);
        }
    }

    private static readonly StoreCounts Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0);

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(_settings.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException)
        {
            await connection.DisposeAsync();
            throw new StoreMaintenanceException($"cannot connect to {Location}: {ex.Message}", ex);
        }
    }

    private static async Task<bool> HasTableAsync(NpgsqlConnection c, NpgsqlTransaction? t, string table) =>
        await c.ExecuteScalarAsync<bool>("SELECT to_regclass(@Name) IS NOT NULL", new { Name = "public." + table }, t);

    private static async Task<int> SchemaVersionAsync(NpgsqlConnection c, NpgsqlTransaction? t) =>
        await HasTableAsync(c, t, "schema_migrations")
            ? await c.ExecuteScalarAsync<int>("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", transaction: t)
            : 0;

    private static async Task<StoreCounts> CountAsync(NpgsqlConnection c, NpgsqlTransaction? t)
    {
        async Task<long> Scalar(string sql) => await c.ExecuteScalarAsync<long?>(sql, transaction: t) ?? 0;
        var events = await c.QuerySingleAsync<(long Count, long? First, long? Last)>("SELECT COUNT(*), MIN(id), MAX(id) FROM events", transaction: t);
        return new StoreCounts(
            events.Count, events.First ?? 0, events.Last ?? 0,
            await Scalar("SELECT COUNT(*) FROM sessions"),
            await Scalar("SELECT COUNT(*) FROM sessions WHERE deleted_at_ms IS NULL"),
            await Scalar("SELECT COUNT(*) FROM webhooks WHERE deleted_at_ms IS NULL"),
            await Scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 0"),
            await Scalar("SELECT COUNT(*) FROM tokens WHERE revoked_at_ms IS NULL"),
            await HasTableAsync(c, t, "retention_state") ? await Scalar("SELECT deleted_through FROM retention_state") : 0);
    }

    /// <summary>The highest migration in the dump's schema_migrations (its data, read back by pg_restore).</summary>
    private async Task<int> BackupSchemaVersionAsync(string pgRestore, string source, CancellationToken cancellationToken)
    {
        if (!(await BackupTablesAsync(pgRestore, source, cancellationToken)).Contains("events"))
        {
            throw new StoreMaintenanceException($"{source} is not a backup this EventBus can restore: it is not an EventBus database (no events table)");
        }

        var data = await RunToolAsync(pgRestore, ["--data-only", "--table=schema_migrations", "--file=-", source], cancellationToken, withDatabase: false);
        var versions = new List<int>();
        var inCopy = false;
        foreach (var line in data.Split('\n'))
        {
            if (line.StartsWith("COPY ", StringComparison.Ordinal) && line.Contains("schema_migrations", StringComparison.Ordinal))
            {
                inCopy = true;
            }
            else if (inCopy && line == "\\.")
            {
                inCopy = false;
            }
            else if (inCopy && int.TryParse(line.Split('\t')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                versions.Add(version);
            }
        }

        return versions.Count > 0
            ? versions.Max()
            : throw new StoreMaintenanceException($"{source} is not a backup this EventBus can restore: it has no schema version");
    }

    /// <summary>The tables the dump holds (from its table of contents; fails when the file is not a custom-format dump).</summary>
    private async Task<HashSet<string>> BackupTablesAsync(string pgRestore, string source, CancellationToken cancellationToken)
    {
        string list;
        try
        {
            list = await RunToolAsync(pgRestore, ["--list", source], cancellationToken, withDatabase: false);
        }
        catch (StoreMaintenanceException ex)
        {
            throw new StoreMaintenanceException($"{source} is not a backup this EventBus can restore: {ex.Message}", ex);
        }

        // "215; 1259 16390 TABLE public events postgres"
        return list.Split('\n')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 6 && p[3] == "TABLE" && p[4] == "public")
            .Select(p => p[5])
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// --clean drops only what the dump holds: tables a newer schema added would stay, and the server's migrations
    /// (back at the dump's version) would then fail to create them. Dropped here, after the restore committed.
    /// </summary>
    private static async Task DropTablesNotInAsync(NpgsqlConnection connection, HashSet<string> keep, CancellationToken cancellationToken)
    {
        var tables = await connection.QueryAsync<string>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
        foreach (var table in tables.Where(t => !keep.Contains(t)))
        {
            await connection.ExecuteAsync(new CommandDefinition($"DROP TABLE IF EXISTS public.\"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\" CASCADE", cancellationToken: cancellationToken));
        }
    }

    private string FindTool(string name)
    {
        var folders = new List<string>();
        if (_toolFolder is not null)
        {
            folders.Add(_toolFolder);
        }
        else
        {
            folders.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
            if (Directory.Exists("/usr/lib/postgresql"))
            {
                // Debian's postgresql package: the newest installed version's tools.
                folders.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var v) ? v : 0)
                    .Select(d => Path.Combine(d, "bin")));
            }
        }

        return folders.Select(f => Path.Combine(f, name)).FirstOrDefault(File.Exists) ?? throw new StoreMaintenanceException(
            $"{name} was not found (looked in {(_toolFolder is null ? "PATH and /usr/lib/postgresql/*/bin" : _toolFolder)}): install PostgreSQL's " +
            "client tools, no older than the server (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq).");
    }

    /// <summary>Runs a tool with the connection in its environment (the password never on a command line); returns stdout.</summary>
    private async Task<string> RunToolAsync(string tool, IReadOnlyList<string> args, CancellationToken cancellationToken, bool withDatabase = true)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (withDatabase)
        {
            start.Environment["PGHOST"] = _settings.Host;
            start.Environment["PGPORT"] = _settings.Port.ToString(CultureInfo.InvariantCulture);
            start.Environment["PGDATABASE"] = _settings.Database;
            if (_settings.Username is { } user)
            {
                start.Environment["PGUSER"] = user;
            }

            if (_settings.Password is { } password)
            {
                start.Environment["PGPASSWORD"] = password;
            }

            start.Environment["PGSSLMODE"] = _settings.SslMode switch
            {
                SslMode.Disable => "disable",
                SslMode.Allow => "allow",
                SslMode.Require => "require",
                SslMode.VerifyCA => "verify-ca",
                SslMode.VerifyFull => "verify-full",
                _ => "prefer",
            };
            start.Environment["PGAPPNAME"] = "eventbus-maintenance";
        }

        using var process = Process.Start(start) ?? throw new StoreMaintenanceException($"cannot start {tool}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new StoreMaintenanceException($"{Path.GetFileName(tool)} failed (exit {process.ExitCode}): {(await error).Trim()}");
        }

        return await output;
    }
}
