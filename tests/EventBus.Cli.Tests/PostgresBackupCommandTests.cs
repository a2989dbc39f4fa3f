using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventBus.Cli.Tests.Support;

namespace EventBus.Cli.Tests;

/// <summary>
/// <c>eventbus backup|restore|check</c> on a <c>postgres://</c> database, through the CLI and the real server: a backup
/// while the server runs, restore refused while a node is connected, and after more publishes a restore that brings
/// back exactly what the bus said at the backup (events, sessions and cursors, a webhook whose secret still signs:
/// the key ring is in the database). Runs in the Postgres run (EVENTBUS_TEST_STORE=postgres, scripts/unit-tests.sh).
/// </summary>
[Trait("Store", "Postgres")]
public sealed class PostgresBackupCommandTests : IDisposable
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
    private readonly string _work = Directory.CreateTempSubdirectory("eventbus-pgbackup-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task ABackup_ThenMorePublishes_ThenRestore_AnswersAsAtTheBackup()
    {
        TestStore.IsPostgres.Should().BeTrue("this test needs EVENTBUS_TEST_STORE=postgres and EVENTBUS_TEST_POSTGRES (make unit sets both)");
        await using var receiver = await WebhookReceiver.StartAsync();
        var cli = new CliRunner();
        var directory = Path.Combine(_work, "node");
        var url = TestStore.PostgresDatabaseFor(directory);
        var backup = Path.Combine(_work, "nightly", "bus.dump");
        string eventsBefore, sessionId, secret;
        long savedCursor, last;
        try
        {
            await using (var host = await BusHost.StartInAsync(directory, false, AllowPrivate))
            {
                host.KeepDirectory = true;
                var client = await host.ConnectAsync();
                sessionId = (await client.CallAsync("register_session", new { name = "keeper", machine = "m1", client_id = "keeper-1" })).Str("session_id");
                secret = (await client.CallAsync("register_webhook", new { url = receiver.Url(), channel = "deploys" })).Str("secret");
                for (var i = 0; i < 12; i++)
                {
                    await client.CallAsync("publish_event", new { event_type = "note", payload = $"n{i}", channel = i % 2 == 0 ? "all" : "repo:x" });
                }

                await client.CallAsync("get_events", new { session_id = sessionId, resume = true, limit = 5 });

                var before = (await client.CallAsync("get_events", new { cursor = "0", order = "asc", limit = 500 })).GetProperty("events");
                eventsBefore = before.GetRawText();
                // The saved cursor as the bus reports it on a resume (what a restored session must come back with).
                var atBackup = await client.CallAsync("register_session", new { name = "keeper", machine = "m1", client_id = "keeper-1" });
                atBackup.Str("session_id").Should().Be(sessionId);
                savedCursor = long.Parse(atBackup.Str("cursor"), System.Globalization.CultureInfo.InvariantCulture);
                var made = await cli.RunAsync("backup", backup, "--db", url, "--json");
                made.ExitCode.Should().Be(0, made.ToString());
                made.Json().GetProperty("events").GetInt64().Should().Be(before.GetArrayLength(), "the counts are the dump's");
                last = made.Json().GetProperty("last_event_id").GetInt64();
                last.Should().Be(before[before.GetArrayLength() - 1].GetProperty("id").GetInt64());

                var inUse = await cli.RunAsync("restore", backup, "--db", url);
                inUse.ExitCode.Should().Be(1, inUse.ToString());
                inUse.Error.Should().Contain("is in use").And.Contain("stop the server on every node first");

                // After the backup: more events, the session reads further, another webhook.
                for (var i = 0; i < 5; i++)
                {
                    await client.CallAsync("publish_event", new { event_type = "later", payload = $"l{i}", channel = "all" });
                }

                await client.CallAsync("get_events", new { session_id = sessionId, resume = true, limit = 100 });
                await client.CallAsync("register_webhook", new { url = receiver.Url("/other"), channel = "other" });
            }

            var restored = await cli.RunAsync("restore", backup, "--db", url, "--json");
            restored.ExitCode.Should().Be(0, restored.ToString());
            restored.Json().GetProperty("last_event_id").GetInt64().Should().Be(last);
            var kept = restored.Json().GetProperty("previous_kept_as").GetString()!;
            File.Exists(kept).Should().BeTrue("the database it replaced is dumped beside the backup first");
            var check = await cli.RunAsync("check", "--db", url, "--json");
            check.ExitCode.Should().Be(0, check.ToString());
            check.Json().GetProperty("ok").GetBoolean().Should().BeTrue();
            check.Json().GetProperty("events").GetInt64().Should().Be(restored.Json().GetProperty("events").GetInt64());
            check.Json().GetProperty("last_event_id").GetInt64().Should().Be(last);
            check.Json().GetProperty("webhooks").GetInt64().Should().Be(1);

            await using (var again = await BusHost.StartInAsync(directory, false, AllowPrivate))
            {
                again.KeepDirectory = true;
                var client = await again.ConnectAsync();
                (await client.CallAsync("get_events", new { cursor = "0", order = "asc", limit = 500 })).GetProperty("events").GetRawText()
                    .Should().Be(eventsBefore, "the same events, ids and all, and none of the later ones");
                var resumed = await client.CallAsync("register_session", new { name = "keeper", machine = "m1", client_id = "keeper-1" });
                resumed.Str("session_id").Should().Be(sessionId);
                long.Parse(resumed.Str("cursor"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(savedCursor, "the cursor as at the backup");

                var published = await client.CallAsync("publish_event", new { event_type = "deployed", payload = "v2", channel = "deploys" });
                published.GetProperty("event_id").GetInt64().Should().Be(last + 1, "the id counter came back with the events");
                var request = (await receiver.WaitForAsync(1)).Single();
                request.Json.GetProperty("event_id").GetInt64().Should().Be(last + 1);
                VerifiesStandard(request, secret).Should().BeTrue("the key ring is in the database, so in the backup");
            }
        }
        finally
        {
            TestStore.Drop(directory);
        }
    }

    [Fact]
    public async Task Restore_RefusesAFileThatIsNotADump_AndCheck_RefusesADatabaseThatIsNotEventBus()
    {
        TestStore.IsPostgres.Should().BeTrue("this test needs EVENTBUS_TEST_STORE=postgres and EVENTBUS_TEST_POSTGRES (make unit sets both)");
        var cli = new CliRunner();
        var directory = Path.Combine(_work, "empty");
        var url = TestStore.PostgresDatabaseFor(directory);
        try
        {
            var junk = Path.Combine(_work, "junk.dump");
            await File.WriteAllTextAsync(junk, "not a dump");
            var refused = await cli.RunAsync("restore", junk, "--db", url);
            refused.ExitCode.Should().Be(1, refused.ToString());
            refused.Error.Should().Contain("is not a backup this EventBus can restore");

            var check = await cli.RunAsync("check", "--db", url);
            check.ExitCode.Should().Be(1, check.ToString());
            check.Out.Should().Contain("it is not an EventBus database");
        }
        finally
        {
            TestStore.Drop(directory);
        }
    }

    private static bool VerifiesStandard(ReceivedRequest r, string secret)
    {
        var key = Convert.FromBase64String(secret.Split('_', 2)[1]);
        var signed = Encoding.UTF8.GetBytes($"{r.Header("webhook-id")}.{r.Header("webhook-timestamp")}.").Concat(r.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
        return r.Header("webhook-signature").Split(' ').Contains(expected);
    }
}
