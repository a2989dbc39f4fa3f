using EventBus.Cli.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventBus.Cli.Tests;

/// <summary><c>eventbus import --from-agent-event-bus</c>: the default path, the summary, and refusing a database that is not empty.</summary>
public sealed class ImportCommandTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("eventbus-import-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Import_ReadsTheOldBusFromItsDefaultPath_SaysWhatItCopied_AndRefusesToImportTwice()
    {
        var old = Path.Combine(_home, ".claude", "contrib", "agent-event-bus", "data.db");
        Directory.CreateDirectory(Path.GetDirectoryName(old)!);
        using (var c = new SqliteConnection($"Data Source={old};Pooling=False"))
        {
            c.Open();
            using var command = c.CreateCommand();
            command.CommandText =
                """
                CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
                INSERT INTO schema_version VALUES (4);
                CREATE TABLE sessions (id TEXT PRIMARY KEY, display_id TEXT NOT NULL, name TEXT NOT NULL, machine TEXT NOT NULL,
                    cwd TEXT NOT NULL, repo TEXT NOT NULL, registered_at TIMESTAMP NOT NULL, last_heartbeat TIMESTAMP NOT NULL,
                    client_id TEXT, last_cursor TEXT, deleted_at TIMESTAMP);
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, event_type TEXT NOT NULL, payload TEXT NOT NULL,
                    session_id TEXT NOT NULL, timestamp TIMESTAMP NOT NULL, channel TEXT NOT NULL DEFAULT 'all',
                    correlation_id TEXT, payload_meta TEXT);
                INSERT INTO events VALUES (41, 'note', 'hello', 's1', '2026-05-01T10:00:00.250000', 'all', NULL, NULL);
                INSERT INTO events VALUES (42, 'ci_failed', 'red', 's1', '2026-05-01T10:01:00', 'repo:x', 'run-1', '{"tags": ["ci"]}');
                INSERT INTO sessions VALUES ('s1', 'brave-trex', 'a', 'm1', '/src/x', 'x', '2026-05-01T09:00:00', '2026-05-01T10:01:00', 'c1', '41', NULL);
                """;
            command.ExecuteNonQuery();
        }

        var db = Path.Combine(_home, "new", "bus.db");
        var cli = new CliRunner { HomeDirectory = _home };
        var imported = await cli.RunAsync("import", "--from-agent-event-bus", "--db", db);
        imported.ExitCode.Should().Be(0, imported.ToString());
        imported.Out.Should().Contain("Imported 2 events (ids 41–42) and 1 sessions (1 with a saved cursor)").And.Contain("schema v4").And.Contain(old);

        var again = await cli.RunAsync("import", "--from-agent-event-bus", old, "--db", db, "--json");
        again.ExitCode.Should().Be(1);
        again.Error.Should().Contain("is not empty (2 events, 1 sessions)");

        var json = await cli.RunAsync("import", "--from-agent-event-bus", old, "--db", Path.Combine(_home, "other.db"), "--json");
        json.ExitCode.Should().Be(0, json.ToString());
        json.Json().GetProperty("last_event_id").GetInt64().Should().Be(42);

        var missing = await cli.RunAsync("import", "--from-agent-event-bus", Path.Combine(_home, "nope.db"), "--db", Path.Combine(_home, "third.db"));
        missing.ExitCode.Should().Be(1);
        missing.Error.Should().Contain("does not exist");
    }
}
