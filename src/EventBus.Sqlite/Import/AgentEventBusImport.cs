using System.Globalization;
using System.Text.Json;
using Dapper;
using EventBus.Core.Events;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite.Import;

/// <summary>What an import copied.</summary>
/// <param name="SourceSchemaVersion">The old database's <c>schema_version</c> (3: no correlation ids or payload_meta; 4: both).</param>
/// <param name="ClientIdsDropped">
/// Sessions whose <c>(machine, client_id)</c> another (live, or more recently seen) session already had: they are
/// kept, but without the client id, since EventBus resumes by that pair and it must be unique.
/// </param>
public sealed record ImportResult(
    int SourceSchemaVersion, int Events, long FirstEventId, long LastEventId, int Sessions, int SessionsWithCursor, int ClientIdsDropped);

/// <summary>Why an import was refused; the message says it in a user's words.</summary>
public sealed class ImportException(string message) : Exception(message);

/// <summary>
/// Copies an agent-event-bus database (the Python bus: <c>~/.claude/contrib/agent-event-bus/data.db</c>) into an empty
/// EventBus database in one transaction: events with their ids, types, payloads, channels, timestamps, correlation ids
/// and the title, tags and signal level from <c>payload_meta</c>; sessions with their client ids and saved cursors, so
/// an old <c>(machine, client_id)</c> resumes where it was. The old bus wrote naive local times: they are read in
/// <c>sourceTimeZone</c> (the machine's own by default) and stored as UTC.
/// </summary>
public static class AgentEventBusImport
{
    /// <summary>Where agent-event-bus keeps its database, under the user's home folder.</summary>
    public static string DefaultSourcePath(string home) => Path.Combine(home, ".claude", "contrib", "agent-event-bus", "data.db");

    /// <summary>Imports <paramref name="sourcePath"/> into <paramref name="targetPath"/> (created and migrated when missing).</summary>
    /// <exception cref="ImportException">The source is missing or not an agent-event-bus database, or the target is not empty.</exception>
    public static ImportResult Run(string sourcePath, string targetPath, TimeZoneInfo? sourceTimeZone = null)
    {
        var zone = sourceTimeZone ?? TimeZoneInfo.Local;
        if (!File.Exists(sourcePath))
        {
            throw new ImportException($"{sourcePath} does not exist (the agent-event-bus database; give its path after --from-agent-event-bus).");
        }

        using var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sourcePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        source.Open();
        var eventColumns = Columns(source, "events");
        var sessionColumns = Columns(source, "sessions");
        if (!eventColumns.IsSupersetOf(["id", "event_type", "payload", "session_id", "timestamp"])
            || !sessionColumns.IsSupersetOf(["id", "display_id", "name", "machine", "cwd", "repo", "registered_at", "last_heartbeat", "client_id"]))
        {
            throw new ImportException($"{sourcePath} is not an agent-event-bus database of schema version 2 or later (its events and sessions tables are missing or too old).");
        }

        var version = Columns(source, "schema_version").Count > 0 ? source.ExecuteScalar<int?>("SELECT MAX(version) FROM schema_version") ?? 0 : 0;

        var directory = Path.GetDirectoryName(Path.GetFullPath(targetPath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = targetPath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        target.Open();
        target.Execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;");
        Migrations.Apply(target);
        using var transaction = target.BeginTransaction();
        var (events, sessions) = target.QuerySingle<(long, long)>(
            "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM sessions)", transaction: transaction);
        if (events + sessions > 0)
        {
            throw new ImportException(
                $"{targetPath} is not empty ({events} events, {sessions} sessions): import only into a new database (give another --db, or move this one away).");
        }

        var (count, first, last) = CopyEvents(source, eventColumns, target, transaction, zone);
        var (sessionCount, withCursor, dropped) = CopySessions(source, sessionColumns, target, transaction, zone, last);
        transaction.Commit();
        return new ImportResult(version, count, first, last, sessionCount, withCursor, dropped);
    }

    private static (int Count, long First, long Last) CopyEvents(
        SqliteConnection source, HashSet<string> columns, SqliteConnection target, SqliteTransaction transaction, TimeZoneInfo zone)
    {
        var channel = columns.Contains("channel") ? "channel" : "'all'";
        var correlation = columns.Contains("correlation_id") ? "correlation_id" : "NULL";
        var meta = columns.Contains("payload_meta") ? "payload_meta" : "NULL";
        using var read = source.CreateCommand();
        read.CommandText = $"SELECT id, event_type, payload, session_id, timestamp, {channel}, {correlation}, {meta} FROM events ORDER BY id";

        using var insert = target.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText =
            """
            INSERT INTO events (id, event_type, payload, session_id, timestamp_ms, channel, correlation_id, signal_level, title, tags)
            VALUES ($id, $type, $payload, $session, $ts, $channel, $correlation, $level, $title, $tags)
            """;
        var p = new[] { "$id", "$type", "$payload", "$session", "$ts", "$channel", "$correlation", "$level", "$title", "$tags" }
            .Select(name => insert.Parameters.Add(new SqliteParameter { ParameterName = name }))
            .ToArray();
        insert.Prepare();

        int count = 0;
        long first = 0, last = 0;
        using var r = read.ExecuteReader();
        while (r.Read())
        {
            var id = r.GetInt64(0);
            var type = r.GetString(1);
            var eventChannel = r.IsDBNull(5) ? "all" : r.GetString(5);
            var (title, tags, level) = ReadMeta(r.IsDBNull(7) ? null : r.GetString(7));
            p[0].Value = id;
            p[1].Value = type;
            p[2].Value = r.GetString(2);
            p[3].Value = r.GetString(3);
            p[4].Value = ToUnixMs(r.GetValue(4), zone);
            p[5].Value = eventChannel;
            p[6].Value = r.IsDBNull(6) ? DBNull.Value : r.GetString(6);
            p[7].Value = (int)SignalLevels.Resolve(level, eventChannel, type);
            p[8].Value = (object?)title ?? DBNull.Value;
            p[9].Value = tags is null ? DBNull.Value : EventReader.SerializeTags(tags);
            insert.ExecuteNonQuery();
            first = count == 0 ? id : first;
            last = id;
            count++;
        }

        return (count, first, last);
    }

    private static (int Count, int WithCursor, int Dropped) CopySessions(
        SqliteConnection source, HashSet<string> columns, SqliteConnection target, SqliteTransaction transaction, TimeZoneInfo zone, long tip)
    {
        var cursor = columns.Contains("last_cursor") ? "last_cursor" : "NULL";
        var deleted = columns.Contains("deleted_at") ? "deleted_at" : "NULL";
        using var read = source.CreateCommand();
        // The old bus resumed the live, most recently seen session of a (machine, client_id); that one keeps the pair.
        read.CommandText =
            $"""
            SELECT id, display_id, name, machine, cwd, repo, client_id, registered_at, last_heartbeat, {cursor}, {deleted}
            FROM sessions ORDER BY {deleted} IS NOT NULL, last_heartbeat DESC
            """;
        var claimed = new HashSet<(string, string)>();
        int count = 0, withCursor = 0, dropped = 0;
        using var r = read.ExecuteReader();
        while (r.Read())
        {
            var machine = r.GetString(3);
            var clientId = r.IsDBNull(6) ? null : r.GetString(6);
            if (clientId is not null && !claimed.Add((machine, clientId)))
            {
                clientId = null;
                dropped++;
            }

            long? saved = null;
            if (!r.IsDBNull(9) && long.TryParse(Convert.ToString(r.GetValue(9), CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out var c))
            {
                saved = Math.Min(c, tip);
                withCursor++;
            }

            target.Execute(
                """
                INSERT INTO sessions (session_id, display_id, name, machine, cwd, repo, client_id, registered_at_ms, last_heartbeat_ms,
                                      cursor, deleted_at_ms, push_cursor)
                VALUES (@Id, @Display, @Name, @Machine, @Cwd, @Repo, @ClientId, @Registered, @Heartbeat, @Cursor, @Deleted, @Tip)
                """,
                new
                {
                    Id = r.GetString(0),
                    Display = r.GetString(1),
                    Name = r.GetString(2),
                    Machine = machine,
                    Cwd = r.GetString(4),
                    Repo = r.GetString(5),
                    ClientId = clientId,
                    Registered = ToUnixMs(r.GetValue(7), zone),
                    Heartbeat = ToUnixMs(r.GetValue(8), zone),
                    Cursor = saved,
                    Deleted = r.IsDBNull(10) ? (long?)null : ToUnixMs(r.GetValue(10), zone),
                    // The old bus never pushed: nothing before the import is owed to a session's stream (reads still
                    // resume from its saved cursor).
                    Tip = tip,
                },
                transaction);
            count++;
        }

        return (count, withCursor, dropped);
    }

    /// <summary>title, tags and signal_level from the old <c>payload_meta</c> JSON; anything unreadable is left out.</summary>
    private static (string? Title, IReadOnlyList<string>? Tags, SignalLevel? Level) ReadMeta(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return (null, null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null, null);
            }

            var root = document.RootElement;
            var title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            IReadOnlyList<string>? tags = root.TryGetProperty("tags", out var g) && g.ValueKind == JsonValueKind.Array
                ? g.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : null;
            SignalLevel? level = root.TryGetProperty("signal_level", out var l) && SignalLevels.TryParse(l.GetString(), out var parsed)
                ? parsed
                : null;
            return (title, tags is { Count: > 0 } ? tags : null, level);
        }
        catch (JsonException)
        {
            return (null, null, null); // The old bus dropped corrupt meta too.
        }
    }

    /// <summary>The old bus's timestamps: ISO text in local time without an offset (Python's isoformat), to UTC milliseconds.</summary>
    private static long ToUnixMs(object value, TimeZoneInfo zone)
    {
        var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset) && HasOffset(text))
        {
            return withOffset.ToUnixTimeMilliseconds();
        }

        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            throw new ImportException($"cannot read the timestamp \"{text}\".");
        }

        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUnixTimeMilliseconds();
    }

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || (text.Length > 6 && (text[^6] is '+' or '-') && text[^3] == ':');

    private static HashSet<string> Columns(SqliteConnection connection, string table) =>
        connection.Query<string>($"SELECT name FROM pragma_table_info('{table}')").ToHashSet(StringComparer.Ordinal);
}
