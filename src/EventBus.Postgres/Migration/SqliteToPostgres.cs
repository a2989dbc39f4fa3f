using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace EventBus.Postgres.Migration;

/// <summary>What <c>eventbus migrate</c> copies from: a SQLite bus file and the folder of its webhook-secret keys.</summary>
/// <param name="DatabasePath">The SQLite database file.</param>
/// <param name="KeysPath">The Data Protection key folder (<c>*.xml</c>) that encrypted its webhook secrets.</param>
/// <param name="SchemaVersion">The SQLite schema version this EventBus writes; the file must be at it.</param>
public sealed record SqliteSource(string DatabasePath, string KeysPath, int SchemaVersion);

/// <summary>How many rows of each kind were copied.</summary>
public sealed record MigrationResult(
    IReadOnlyDictionary<string, long> Rows, long LastEventId, long DeletedThrough, int Keys, int PostgresSchemaVersion);

/// <summary>Why a migration was refused or failed; nothing was written to PostgreSQL.</summary>
public sealed class MigrationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Copies a SQLite bus into an empty PostgreSQL database (<c>eventbus migrate</c>): the schema first (the Postgres
/// store's own migrations), then every table (events keep their ids) and the webhook-secret key ring, in one
/// transaction, so a failure leaves the database empty. The SQLite file must not be open elsewhere: it takes the
/// exclusive lock the SQLite store's shared lock (<c>&lt;db&gt;.lock</c>) conflicts with, so nothing is published
/// during the copy that the copy would miss.
/// </summary>
public static class SqliteToPostgres
{
    /// <summary>The tables copied, in order, with their columns; <see cref="Tables"/> reads them in SQLite by name.</summary>
    private static readonly Table[] Tables =
    [
        new("events", "id", [Big("id"), Text("event_type"), Text("payload"), Text("session_id"), Big("timestamp_ms"), Text("channel"),
            Text("correlation_id"), Int("signal_level"), Text("title"), Text("tags")]),
        new("event_traces", "event_id", [Big("event_id"), Text("traceparent")]),
        new("sessions", "session_id", [Text("session_id"), Text("display_id"), Text("name"), Text("machine"), Text("cwd"), Text("repo"),
            Text("client_id"), Big("registered_at_ms"), Big("last_heartbeat_ms"), Big("cursor"), Big("deleted_at_ms"), Big("push_cursor"),
            Text("owner_token_id")]),
        new("subscriptions", "session_id, pattern", [Text("session_id"), Text("pattern"), Int("min_level"), Big("created_at_ms")]),
        new("webhooks", "webhook_id", [Text("webhook_id"), Text("url"), Text("channel"),
            new("event_types", NpgsqlDbType.Array | NpgsqlDbType.Text, v => JsonSerializer.Deserialize<string[]>((string)v)),
            new("secret", NpgsqlDbType.Bytea, v => (byte[])v), new("active", NpgsqlDbType.Boolean, v => Convert.ToInt64(v, null) != 0),
            Big("created_at_ms"), Big("failing_since_ms"), Text("disabled_reason"), Big("deleted_at_ms"), Text("principal"), Text("event_name"),
            Text("arguments"), Big("expires_at_ms")]),
        new("webhook_deliveries", "id", [Big("id"), Text("webhook_id"), Big("event_id"), Int("status"), Int("attempts"), Int("retry_index"),
            Big("next_attempt_ms"), Big("created_at_ms"), Big("last_attempt_ms"), Int("last_status_code"), Text("last_error"),
            Big("delivered_at_ms")]),
        new("webhook_attempts", "delivery_id, attempt", [Big("delivery_id"), Int("attempt"), Big("at_ms"), Int("status_code"), Text("error"),
            new("duration_ms", NpgsqlDbType.Double, v => Convert.ToDouble(v, null))]),
        new("ingest_keys", "key", [Text("key"), Big("event_id"), Big("expires_at_ms")]),
        new("tokens", "token_id", [Text("token_id"), Text("name"), Text("hash"), Int("scope"), Text("session_pattern"), Big("created_at_ms"),
            Big("expires_at_ms"), Big("revoked_at_ms")]),
        new("consumer_positions", "consumer", [Text("consumer"), Big("position"), Big("updated_at_ms")]),
    ];

    /// <summary>Copies <paramref name="source"/> into the database <paramref name="postgresUrl"/> names.</summary>
    /// <exception cref="MigrationException">Refused (server running, target not empty, old schema, keys missing) or failed.</exception>
    public static async Task<MigrationResult> RunAsync(SqliteSource source, string postgresUrl, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(source.DatabasePath);
        if (!File.Exists(path))
        {
            throw new MigrationException($"{path} does not exist.");
        }

        NpgsqlConnectionStringBuilder target;
        try
        {
            target = PostgresUrl.Parse(postgresUrl);
        }
        catch (FormatException ex)
        {
            throw new MigrationException(ex.Message, ex);
        }

        target.Pooling = false;
        using var exclusive = HoldExclusive(path);
        await using var sqlite = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        await sqlite.OpenAsync(cancellationToken);
        var version = Convert.ToInt32(await Scalar(sqlite, "PRAGMA user_version", cancellationToken), null);
        if (version != source.SchemaVersion)
        {
            throw new MigrationException(version < source.SchemaVersion
                ? $"{path} is at schema v{version}; this EventBus's is v{source.SchemaVersion}. Start `eventbus serve --db {path}` once to upgrade it, stop it, then migrate."
                : $"{path} is at schema v{version}, newer than this EventBus understands (v{source.SchemaVersion}). Upgrade EventBus.");
        }

        var keys = ReadKeys(source.KeysPath);
        var webhooks = Convert.ToInt64(await Scalar(sqlite, "SELECT COUNT(*) FROM webhooks", cancellationToken), null);
        if (webhooks > 0 && keys.Count == 0)
        {
            throw new MigrationException(
                $"{path} has {webhooks} webhook(s), but {source.KeysPath} holds no webhook-secret keys (*.xml): without them their secrets " +
                "cannot be decrypted. Pass the keys folder with --keys.");
        }

        var lastId = Convert.ToInt64(await Scalar(sqlite, "SELECT COALESCE(MAX(id), 0) FROM events", cancellationToken), null);
        var deletedThrough = Convert.ToInt64(await Scalar(sqlite, "SELECT deleted_through FROM retention_state", cancellationToken) ?? 0L, null);
        var deletedTotal = Convert.ToInt64(await Scalar(sqlite, "SELECT deleted_total FROM retention_state", cancellationToken) ?? 0L, null);

        NpgsqlConnection pg;
        try
        {
            pg = new NpgsqlConnection(target.ConnectionString);
            await pg.OpenAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new MigrationException($"cannot reach PostgreSQL at {target.Host}:{target.Port} (database {target.Database}): {ex.Message}", ex);
        }

        await using (pg)
        {
            var schema = await PostgresMigrations.ApplyAsync(pg, cancellationToken);
            await using var transaction = await pg.BeginTransactionAsync(cancellationToken);
            // Writers take the counter row first: holding it keeps a node started meanwhile from publishing mid-copy.
            await Execute(pg, "SELECT last_id FROM event_counter FOR UPDATE", cancellationToken);
            var holding = new List<string>();
            foreach (var table in Tables)
            {
                if (await Scalar(pg, $"SELECT 1 FROM {table.Name} LIMIT 1", cancellationToken) is not null)
                {
                    holding.Add(table.Name);
                }
            }

            if (holding.Count > 0)
            {
                throw new MigrationException(
                    $"the PostgreSQL database {target.Database} on {target.Host}:{target.Port} is not empty (rows in {string.Join(", ", holding)}): " +
                    "migrate only into a new, empty database. No rows were written.");
            }

            var rows = new Dictionary<string, long>();
            foreach (var table in Tables)
            {
                try
                {
                    rows[table.Name] = await CopyAsync(sqlite, pg, table, cancellationToken);
                }
                catch (Exception ex) when (ex is NpgsqlException or SqliteException or JsonException or InvalidCastException or FormatException)
                {
                    throw new MigrationException(
                        $"copying {table.Name} failed: {ex.Message}. The transaction was rolled back: no rows were written.", ex);
                }
            }

            await Execute(pg, $"UPDATE event_counter SET last_id = {Math.Max(lastId, deletedThrough)}", cancellationToken);
            // Readers on PostgreSQL are told their history was cut exactly where they were on SQLite.
            await Execute(pg, $"UPDATE retention_state SET deleted_through = {deletedThrough}, deleted_total = {deletedTotal}", cancellationToken);
            await Execute(pg,
                "SELECT setval(pg_get_serial_sequence('webhook_deliveries', 'id'), COALESCE((SELECT MAX(id) FROM webhook_deliveries), 0) + 1, false)",
                cancellationToken);
            foreach (var (name, xml) in keys)
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO dataprotection_keys (friendly_name, xml) VALUES (@name, @xml) ON CONFLICT (friendly_name) DO NOTHING", pg);
                insert.Parameters.AddWithValue("name", name);
                insert.Parameters.AddWithValue("xml", xml);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return new MigrationResult(rows, lastId, deletedThrough, keys.Count, schema);
        }
    }

    private static async Task<long> CopyAsync(SqliteConnection sqlite, NpgsqlConnection pg, Table table, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", table.Columns.Select(c => c.Name));
        await using var read = sqlite.CreateCommand();
        read.CommandText = $"SELECT {columns} FROM {table.Name} ORDER BY {table.Order}";
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        await using var writer = await pg.BeginBinaryImportAsync($"COPY {table.Name} ({columns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        long count = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            await writer.StartRowAsync(cancellationToken);
            for (var i = 0; i < table.Columns.Length; i++)
            {
                var column = table.Columns[i];
                if (reader.IsDBNull(i))
                {
                    await writer.WriteNullAsync(cancellationToken);
                }
                else
                {
                    await writer.WriteAsync(column.Convert(reader.GetValue(i)), column.Type, cancellationToken);
                }
            }

            count++;
        }

        await writer.CompleteAsync(cancellationToken);
        return count;
    }

    /// <summary>The key files Data Protection wrote (<c>friendlyName.xml</c>), by friendly name.</summary>
    private static List<(string Name, string Xml)> ReadKeys(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }

        return [.. Directory.GetFiles(folder, "*.xml").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileNameWithoutExtension(f), System.Xml.Linq.XElement.Load(f).ToString(System.Xml.Linq.SaveOptions.DisableFormatting)))];
    }

    /// <summary>The exclusive side of the SQLite store's <c>&lt;db&gt;.lock</c> (EventBus.Sqlite's DatabaseLock).</summary>
    private static FileStream HoldExclusive(string path)
    {
        try
        {
            return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new MigrationException(
                $"{path} is open in another process (a running server or eventbus command): stop the server first, so that no event published during the copy is left behind.");
        }
    }

    private static async Task<object?> Scalar(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static Column Big(string name) => new(name, NpgsqlDbType.Bigint, v => Convert.ToInt64(v, null));

    private static Column Int(string name) => new(name, NpgsqlDbType.Integer, v => Convert.ToInt32(v, null));

    private static Column Text(string name) => new(name, NpgsqlDbType.Text, v => (string)v);

    private sealed record Column(string Name, NpgsqlDbType Type, Func<object, object?> Convert);

    private sealed record Table(string Name, string Order, Column[] Columns);
}
