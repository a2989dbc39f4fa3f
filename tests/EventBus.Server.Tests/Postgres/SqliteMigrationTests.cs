using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Postgres.Migration;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;
using EventBus.Sqlite;
using Npgsql;

namespace EventBus.Server.Tests.Postgres;

/// <summary>
/// <c>eventbus migrate</c>'s copy: a SQLite bus built through the real host, copied into an empty PostgreSQL database,
/// then served from PostgreSQL with the same answers (the same page of events, a session resuming at its cursor, the
/// token, a webhook signing with the secret it was registered with).
/// </summary>
[Trait("Store", "Postgres")]
public sealed class SqliteMigrationTests : IAsyncLifetime
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
    private readonly string _sqliteDirectory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
    private readonly string _postgresDirectory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
    private WebhookReceiver _receiver = null!;

    private SqliteSource Source => new(Path.Combine(_sqliteDirectory, "bus.db"), Path.Combine(_sqliteDirectory, "keys"), SqliteStoreOptions.SchemaVersion);

    private string Target => TestStore.PostgresDatabaseFor(_postgresDirectory);

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        TestStore.Drop(_postgresDirectory);
        foreach (var directory in new[] { _sqliteDirectory, _postgresDirectory })
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AMigratedBus_ServedFromPostgres_GivesTheSameAnswers()
    {
        string token, secret, sessionId, savedCursor, page;
        await using (var sqlite = await BusHost.StartOnSqliteAsync(_sqliteDirectory, AllowPrivate))
        {
            sqlite.KeepDirectory = true;
            token = await sqlite.CreateTokenAsync("laptop", TokenScope.Admin);
            var client = await sqlite.ConnectAsync(token: token);
            var me = await Register(client);
            sessionId = me.Str("session_id");
            await client.CallAsync("subscribe", new { session_id = sessionId, channel = "repo:#" });
            secret = (await client.CallAsync("register_webhook", new { url = _receiver.Url(), channel = "hooked" })).Str("secret");
            for (var i = 0; i < 5; i++)
            {
                await client.CallAsync("publish_event", new { event_type = "note", payload = "before-" + i, channel = "repo:x" });
            }

            await client.CallAsync("publish_event", new { event_type = "ping", payload = "hooked-on-sqlite", channel = "hooked" });
            await _receiver.WaitForAsync(1);
            savedCursor = (await client.CallAsync("get_events", new { session_id = sessionId, resume = true })).Str("next_cursor");
            await client.CallAsync("publish_event", new { event_type = "note", payload = "after-read", channel = "repo:x" });
            var reader = await sqlite.ConnectAsync(token: token);
            page = (await reader.CallAsync("get_events", new { limit = 50 })).GetProperty("events").GetRawText();
        }

        var result = await SqliteToPostgres.RunAsync(Source, Target, TestTimeouts.Token());

        result.Rows["events"].Should().BeGreaterThanOrEqualTo(7);
        result.Rows["sessions"].Should().Be(1);
        result.Rows["subscriptions"].Should().Be(1);
        result.Rows["webhooks"].Should().Be(1);
        result.Rows["webhook_deliveries"].Should().Be(1);
        result.Rows["tokens"].Should().Be(1);
        result.Keys.Should().BePositive();

        await using var postgres = await BusHost.StartInAsync(_postgresDirectory, false, AllowPrivate);
        postgres.KeepDirectory = true; // DisposeAsync drops the database
        var same = await postgres.ConnectAsync(token: token);
        (await same.CallAsync("get_events", new { limit = 50 })).GetProperty("events").GetRawText().Should().Be(page);

        var client2 = await postgres.ConnectAsync(token: token);
        var again = await Register(client2);
        again.Str("session_id").Should().Be(sessionId);
        again.GetProperty("resumed").GetBoolean().Should().BeTrue();
        again.Str("cursor").Should().Be(savedCursor);
        var resumed = await client2.CallAsync("get_events", new { session_id = sessionId, resume = true });
        resumed.GetProperty("events").EnumerateArray().Select(e => e.Str("payload")).Should().Equal("after-read");
        (await client2.CallAsync("list_subscriptions", new { session_id = sessionId })).GetRawText().Should().Contain("repo:#");

        var published = (await client2.CallAsync("publish_event", new { event_type = "ping", payload = "hooked-on-postgres", channel = "hooked" }))
            .GetProperty("event_id").GetInt64();
        published.Should().Be(result.LastEventId + 1, "ids continue after the copied log");
        var delivered = (await _receiver.WaitForAsync(2))[1];
        delivered.Json.Str("payload").Should().Be("hooked-on-postgres");
        VerifiesStandard(delivered, secret).Should().BeTrue("the secret registered on SQLite still signs: its key ring was copied");
    }

    [Fact]
    public async Task IntoANonEmptyDatabase_IsRefused_AndNothingIsWritten()
    {
        await using (var sqlite = await BusHost.StartOnSqliteAsync(_sqliteDirectory))
        {
            sqlite.KeepDirectory = true;
            await sqlite.PublishAsync("on_sqlite");
        }

        await using (var postgres = await BusHost.StartInAsync(_postgresDirectory))
        {
            postgres.KeepDirectory = true;
            await postgres.PublishAsync("already_here");
        }

        var act = () => SqliteToPostgres.RunAsync(Source, Target, TestTimeouts.Token());

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should().Contain("is not empty (rows in events)").And.Contain("No rows were written");
        var builder = EventBus.Postgres.PostgresUrl.Parse(Target);
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT string_agg(event_type, ',') FROM events", connection);
        (await count.ExecuteScalarAsync()).Should().Be("already_here");
    }

    [Fact]
    public async Task AFailureHalfwayThrough_LeavesThePostgresDatabaseEmpty()
    {
        await using (var sqlite = await BusHost.StartOnSqliteAsync(_sqliteDirectory))
        {
            sqlite.KeepDirectory = true;
            await sqlite.PublishAsync("copied_then_rolled_back");
        }

        // A webhook row the copy cannot convert, after the events (copied first) are already in the transaction.
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Source.DatabasePath};Pooling=False"))
        {
            c.Open();
            using var insert = c.CreateCommand();
            insert.CommandText = "INSERT INTO webhooks (webhook_id, url, channel, event_types, secret, active, created_at_ms) VALUES ('wh', 'http://x', '', 'not json', x'00', 1, 0)";
            insert.ExecuteNonQuery();
        }

        Directory.CreateDirectory(Source.KeysPath);
        await File.WriteAllTextAsync(Path.Combine(Source.KeysPath, "key-test.xml"), "<key id=\"test\" />");

        var act = () => SqliteToPostgres.RunAsync(Source, Target, TestTimeouts.Token());

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should().StartWith("copying webhooks failed").And.Contain("no rows were written");
        var builder = EventBus.Postgres.PostgresUrl.Parse(Target);
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM dataprotection_keys) + (SELECT last_id FROM event_counter)", connection);
        (await count.ExecuteScalarAsync()).Should().Be(0L);
    }

    [Fact]
    public async Task WhileAServerHasTheSqliteFileOpen_IsRefused()
    {
        await using var sqlite = await BusHost.StartOnSqliteAsync(_sqliteDirectory);
        sqlite.KeepDirectory = true;

        var act = () => SqliteToPostgres.RunAsync(Source, Target, TestTimeouts.Token());

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should().Contain("is open in another process").And.Contain("stop the server");
    }

    private static Task<JsonElement> Register(ModelContextProtocol.Client.McpClient client) =>
        client.CallAsync("register_session", new { name = "ada", machine = "laptop", client_id = "cc-1" });

    /// <summary>An independent Standard Webhooks verifier: HMAC-SHA256 over "id.timestamp.body".</summary>
    private static bool VerifiesStandard(ReceivedRequest r, string secret)
    {
        var key = Convert.FromBase64String(secret.Split('_', 2)[1]);
        var signed = Encoding.UTF8.GetBytes($"{r.Header("webhook-id")}.{r.Header("webhook-timestamp")}.").Concat(r.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
        return r.Header("webhook-signature").Split(' ').Contains(expected);
    }
}
