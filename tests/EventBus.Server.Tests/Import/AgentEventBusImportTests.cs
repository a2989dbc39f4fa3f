using System.Text.Json;
using EventBus.Server.Tests.Support;
using EventBus.Sqlite.Import;
using Microsoft.Data.Sqlite;

namespace EventBus.Server.Tests.Import;

/// <summary>
/// Coming from agent-event-bus: its database, built here in the shapes of its schema versions 3 and 4 (as its
/// storage.py creates them), imported, then served by the real host to a real MCP client.
/// </summary>
public sealed class AgentEventBusImportTests : IAsyncLifetime
{
    // The old bus wrote naive local times; the import reads them in this zone.
    private static readonly TimeZoneInfo Zone = TimeZoneInfo.CreateCustomTimeZone("test+02", TimeSpan.FromHours(2), "test+02", "test+02");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", "import-" + Guid.NewGuid().ToString("N"));

    private string OldPath => Path.Combine(_directory, "data.db");

    private string NewPath => Path.Combine(_directory, "bus.db");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }

        return Task.CompletedTask;
    }

    /// <summary>An agent-event-bus database of schema version 3 (no correlation_id, no payload_meta) or 4.</summary>
    private void CreateOldDatabase(int version)
    {
        using var c = new SqliteConnection($"Data Source={OldPath};Pooling=False");
        c.Open();
        var v4Columns = version >= 4 ? ", correlation_id TEXT, payload_meta TEXT" : "";
        Execute(c, "PRAGMA journal_mode = WAL");
        Execute(c, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY)");
        Execute(c, """
            CREATE TABLE sessions (id TEXT PRIMARY KEY, display_id TEXT NOT NULL, name TEXT NOT NULL, machine TEXT NOT NULL,
                cwd TEXT NOT NULL, repo TEXT NOT NULL, registered_at TIMESTAMP NOT NULL, last_heartbeat TIMESTAMP NOT NULL,
                client_id TEXT, last_cursor TEXT, deleted_at TIMESTAMP)
            """);
        Execute(c, $"""
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, event_type TEXT NOT NULL, payload TEXT NOT NULL,
                session_id TEXT NOT NULL, timestamp TIMESTAMP NOT NULL, channel TEXT NOT NULL DEFAULT 'all'{v4Columns})
            """);
        Execute(c, """
            CREATE TABLE webhooks (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, channel_filter TEXT, event_types TEXT,
                created_at TIMESTAMP NOT NULL, active INTEGER NOT NULL DEFAULT 1, secret TEXT)
            """);
        Execute(c, $"INSERT INTO schema_version (version) VALUES ({version})");

        var meta = version >= 4;
        Execute(c, "INSERT INTO events (id, event_type, payload, session_id, timestamp, channel) VALUES (5, 'session_registered', 'alice started on m1 in /src/app', 'sess-a', '2026-03-31T14:22:05.123456', 'all')");
        Execute(c, meta
            ? """INSERT INTO events VALUES (6, 'help_needed', 'CI is red', 'sess-a', '2026-03-31T14:23:00', 'repo:app', 'req-1', '{"title": "Stuck", "tags": ["ci", "urgent"], "signal_level": "info"}')"""
            : "INSERT INTO events VALUES (6, 'help_needed', 'CI is red', 'sess-a', '2026-03-31T14:23:00', 'repo:app')");
        Execute(c, meta
            ? """INSERT INTO events VALUES (9, 'note', 'ping', 'sess-a', '2026-03-31T15:00:00.500000', 'session:sess-b', NULL, '{"title": "Hi"}')"""
            : "INSERT INTO events VALUES (9, 'note', 'ping', 'sess-a', '2026-03-31T15:00:00.500000', 'session:sess-b')");

        Execute(c, "INSERT INTO sessions VALUES ('sess-a', 'brave-trex', 'alice', 'm1', '/src/app', 'app', '2026-03-31T14:22:05.123456', '2026-03-31T16:00:00', 'client-a', '6', NULL)");
        Execute(c, "INSERT INTO sessions VALUES ('sess-b', 'calm-raptor', 'bob', 'm2', '/src/lib', 'lib', '2026-03-30T09:00:00', '2026-03-30T10:00:00', 'client-b', NULL, '2026-03-30T11:00:00')");
        // An older, ended session of the same (machine, client_id): the live one keeps the pair.
        Execute(c, "INSERT INTO sessions VALUES ('sess-old', 'old-dino', 'alice', 'm1', '/src/app', 'app', '2026-03-01T09:00:00', '2026-03-01T10:00:00', 'client-a', '2', '2026-03-01T11:00:00')");
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Import_CopiesEventsWithTheirIds_AndSessionsResumeWithTheirCursors(int version)
    {
        CreateOldDatabase(version);
        var result = AgentEventBusImport.Run(OldPath, NewPath, Zone);
        result.Should().Be(new ImportResult(version, 3, 5, 9, 3, 2, 1));

        // The imported history is months old: keep all of it (the default retention rule keeps 90 days).
        await using var host = await BusHost.StartInAsync(_directory, false, "--EventBus:Retention:DefaultMaxAge=0");
        var client = await host.ConnectAsync();
        var all = (await client.CallAsync("get_events", new { cursor = "0", order = "asc", limit = 10 })).GetProperty("events").EnumerateArray().ToList();
        var events = all.Where(e => e.GetProperty("id").GetInt64() <= 9).ToList();
        events.Select(e => e.GetProperty("id").GetInt64()).Should().Equal(5, 6, 9);
        all.Skip(3).Select(e => (e.Str("event_type"), e.Str("session_id"))).Should().Equal(
            [("session_unregistered", "sess-a")], "the live session's last heartbeat is months old: the server expires it at start");
        events.Select(e => e.Str("event_type")).Should().Equal("session_registered", "help_needed", "note");
        events.Select(e => e.Str("payload")).Should().Equal("alice started on m1 in /src/app", "CI is red", "ping");
        events.Select(e => e.Str("session_id")).Should().OnlyContain(s => s == "sess-a");
        events.Select(e => e.Str("channel")).Should().Equal("all", "repo:app", "session:sess-b");
        events.Select(e => e.Str("timestamp")).Should().Equal("2026-03-31T12:22:05.123Z", "2026-03-31T12:23:00.000Z", "2026-03-31T13:00:00.500Z");
        if (version >= 4)
        {
            events[1].Str("correlation_id").Should().Be("req-1");
            events[1].Str("title").Should().Be("Stuck");
            events[1].GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Equal("ci", "urgent");
            events.Select(e => e.Str("signal_level")).Should().Equal("lifecycle", "info", "actionable");
            events[2].Str("title").Should().Be("Hi");
        }
        else
        {
            events[1].GetProperty("correlation_id").ValueKind.Should().Be(JsonValueKind.Null);
            events.Select(e => e.Str("signal_level")).Should().Equal("lifecycle", "actionable", "actionable");
        }

        var alice = await client.CallAsync("register_session", new { name = "alice", machine = "m1", client_id = "client-a", cwd = "/src/app" });
        alice.GetProperty("resumed").GetBoolean().Should().BeTrue();
        alice.Str("session_id").Should().Be("sess-a");
        alice.Str("display_id").Should().Be("brave-trex");
        alice.Str("cursor").Should().Be("6", "the saved cursor of the live session, not the older one's");
        var unread = await client.CallAsync("get_events", new { session_id = "sess-a", resume = true, order = "asc" });
        unread.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().StartWith(9);

        var bob = await client.CallAsync("register_session", new { name = "bob", machine = "m2", client_id = "client-b" });
        bob.GetProperty("resumed").GetBoolean().Should().BeTrue("an ended session resumes by its (machine, client_id) too");
        bob.Str("session_id").Should().Be("sess-b");

        var published = await client.CallAsync("publish_event", new { event_type = "note", payload = "after the import" });
        published.GetProperty("event_id").GetInt64().Should().BeGreaterThan(9, "new ids continue after the imported ones");
    }

    [Fact]
    public async Task Import_RefusesADatabaseThatIsNotEmpty_AndChangesNothing()
    {
        CreateOldDatabase(4);
        await using (var host = await BusHost.StartInAsync(_directory))
        {
            host.KeepDirectory = true;
            var client = await host.ConnectAsync();
            await client.CallAsync("publish_event", new { event_type = "note", payload = "already here" });
        }

        var refused = () => AgentEventBusImport.Run(OldPath, NewPath, Zone);
        refused.Should().Throw<ImportException>().WithMessage("*is not empty (1 events, 0 sessions)*");

        await using var again = await BusHost.StartInAsync(_directory);
        again.KeepDirectory = true;
        var events = await (await again.ConnectAsync()).CallAsync("get_events", new { cursor = "0", order = "asc" });
        events.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).Should().Equal("already here");
    }

    [Fact]
    public void Import_RefusesASourceThatIsMissingOrNotAnAgentEventBusDatabase()
    {
        var missing = () => AgentEventBusImport.Run(Path.Combine(_directory, "nope.db"), NewPath, Zone);
        missing.Should().Throw<ImportException>().WithMessage("*does not exist*");
        using (var c = new SqliteConnection($"Data Source={OldPath};Pooling=False"))
        {
            c.Open();
            Execute(c, "CREATE TABLE something (x INTEGER)");
        }

        var other = () => AgentEventBusImport.Run(OldPath, NewPath, Zone);
        other.Should().Throw<ImportException>().WithMessage("*is not an agent-event-bus database*");
        File.Exists(NewPath).Should().BeFalse("nothing is created when the source is refused");
    }
}
