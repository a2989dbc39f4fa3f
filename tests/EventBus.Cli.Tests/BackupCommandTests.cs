using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventBus.Cli.Tests.Support;
using Microsoft.Data.Sqlite;
using ModelContextProtocol.Client;

namespace EventBus.Cli.Tests;

/// <summary>
/// <c>eventbus backup</c> while the real server writes, <c>restore</c> refusing a database in use and keeping the one it
/// replaces, and a restored bus that answers as the original did: events, sessions and their cursors, webhooks whose
/// secrets still sign (the keys came along).
/// </summary>
public sealed class BackupCommandTests : IDisposable
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
    private readonly string _work = Directory.CreateTempSubdirectory("eventbus-backup-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task ABackupTakenWhileTheServerWrites_RestoresToABusThatAnswersTheSame_WithWebhookSecretsThatStillSign()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var cli = new CliRunner();
        var backup = Path.Combine(_work, "nightly", "bus-backup.db");
        JsonElement eventsBefore, sessionsBefore;
        string sessionId, secret, webhookId;
        long savedCursor;
        await using (var host = await BusHost.StartAsync(false, AllowPrivate))
        {
            var client = await host.ConnectAsync();
            sessionId = (await client.CallAsync("register_session", new { name = "keeper", machine = "m1", client_id = "keeper-1" })).Str("session_id");
            var hook = await client.CallAsync("register_webhook", new { url = receiver.Url(), channel = "deploys" });
            (webhookId, secret) = (hook.Str("webhook_id"), hook.Str("secret"));
            for (var i = 0; i < 20; i++)
            {
                await client.CallAsync("publish_event", new { event_type = "note", payload = $"n{i}", channel = i % 2 == 0 ? "all" : "repo:x" });
            }

            var consumed = await client.CallAsync("get_events", new { session_id = sessionId, resume = true, limit = 10 });
            savedCursor = long.Parse(consumed.Str("next_cursor"), System.Globalization.CultureInfo.InvariantCulture);

            // Online: publishes keep committing while the backup runs; it is one consistent moment of the log.
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                await using var busy = await host.ConnectAsync();
                while (!stop.IsCancellationRequested)
                {
                    await busy.CallAsync("publish_event", new { event_type = "during", payload = "x", channel = "busy" });
                }
            });
            var made = await cli.RunAsync("backup", backup, "--db", host.DatabasePath, "--json");
            await stop.CancelAsync();
            await writer;
            made.ExitCode.Should().Be(0, made.ToString());
            var madeJson = made.Json();
            madeJson.GetProperty("key_files").GetInt32().Should().BePositive("the webhook secret's key is copied beside the backup");
            File.Exists(backup).Should().BeTrue();

            var inUse = await cli.RunAsync("restore", backup, "--db", host.DatabasePath);
            inUse.ExitCode.Should().Be(1);
            inUse.Error.Should().Contain("is in use").And.Contain("stop the server first");

            // What the bus says as of the backup: everything up to the backup's last event.
            var last = madeJson.GetProperty("last_event_id").GetInt64();
            eventsBefore = await client.CallAsync("get_events", new { cursor = "0", order = "asc", limit = 500 });
            eventsBefore = JsonSerializer.SerializeToElement(
                eventsBefore.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("id").GetInt64() <= last).ToList());
            sessionsBefore = await client.CallAsync("list_sessions");
        }

        // A new machine: the backup restored into an empty folder (keys and all), the server started on it.
        var directory = Path.Combine(_work, "restored");
        var database = Path.Combine(directory, "bus.db");
        var restored = await cli.RunAsync("restore", backup, "--db", database);
        restored.ExitCode.Should().Be(0, restored.ToString());
        restored.Out.Should().Contain($"Restored {backup} into {database}").And.Contain("added to " + Path.Combine(directory, "keys"));
        (await cli.RunAsync("check", "--db", database)).Out.Should().Contain(": ok, schema v");

        await using (var again = await BusHost.StartInAsync(directory, false, AllowPrivate))
        {
            again.KeepDirectory = true;
            var client = await again.ConnectAsync();
            var events = (await client.CallAsync("get_events", new { cursor = "0", order = "asc", limit = 500 })).GetProperty("events");
            events.GetRawText().Should().Be(eventsBefore.GetRawText(), "the same events, ids and all");
            var sessions = await client.CallAsync("list_sessions");
            sessions[0].Str("session_id").Should().Be(sessionsBefore[0].Str("session_id"));
            var resumed = await client.CallAsync("register_session", new { name = "keeper", machine = "m1", client_id = "keeper-1" });
            resumed.Str("session_id").Should().Be(sessionId);
            resumed.GetProperty("resumed").GetBoolean().Should().BeTrue();
            long.Parse(resumed.Str("cursor"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(savedCursor, "the saved cursor came back");

            var published = await client.CallAsync("publish_event", new { event_type = "deployed", payload = "v2", channel = "deploys" });
            var request = (await receiver.WaitForAsync(1)).Single();
            request.Json.GetProperty("event_id").GetInt64().Should().Be(published.GetProperty("event_id").GetInt64());
            VerifiesStandard(request, secret).Should().BeTrue("the restored webhook's secret decrypts with the restored keys");
            (await client.CallAsync("list_webhooks")).EnumerateArray().Select(w => w.Str("webhook_id")).Should().Equal(webhookId);
        }
    }

    [Fact]
    public async Task Restore_OverAnExistingDatabase_KeepsItAside_AndRefusesABackupFromANewerEventBus()
    {
        var cli = new CliRunner();
        var directory = Path.Combine(_work, "bus");
        var backup = Path.Combine(_work, "b.db");
        long before;
        await using (var host = await BusHost.StartInAsync(directory))
        {
            host.KeepDirectory = true;
            before = await Api.PublishAsync(host, "one");
            (await cli.RunAsync("backup", backup, "--db", host.DatabasePath)).ExitCode.Should().Be(0);
            await Api.PublishAsync(host, "after-the-backup");
        }

        var database = Path.Combine(directory, "bus.db");
        var restored = await cli.RunAsync("restore", backup, "--db", database, "--json");
        restored.ExitCode.Should().Be(0, restored.ToString());
        var kept = restored.Json().GetProperty("previous_kept_as").GetString()!;
        kept.Should().StartWith(database + ".before-restore-");
        var keptCheck = (await cli.RunAsync("check", "--db", kept, "--json")).Json();
        keptCheck.GetProperty("events").GetInt64().Should().Be(restored.Json().GetProperty("events").GetInt64() + 1, "the replaced database, with its WAL, is whole");
        (await cli.RunAsync("check", "--db", database, "--json")).Json().GetProperty("last_event_id").GetInt64().Should().Be(before);

        using (var newer = new SqliteConnection($"Data Source={backup};Pooling=false"))
        {
            newer.Open();
            using var command = newer.CreateCommand();
            command.CommandText = "PRAGMA user_version = 999";
            command.ExecuteNonQuery();
        }

        var refused = await cli.RunAsync("restore", backup, "--db", database);
        refused.ExitCode.Should().Be(1);
        refused.Error.Should().Contain("schema is version 999, newer than this EventBus knows");
        var check = await cli.RunAsync("check", "--db", backup);
        check.ExitCode.Should().Be(1);
        check.Out.Should().Contain("PROBLEMS");

        await File.WriteAllTextAsync(Path.Combine(_work, "junk.db"), "not a database at all, just some text that is long enough");
        var junk = await cli.RunAsync("restore", Path.Combine(_work, "junk.db"), "--db", database);
        junk.ExitCode.Should().Be(1);
        junk.Error.Should().Contain("is not a backup this EventBus can restore");
        (await cli.RunAsync("check", "--db", database)).ExitCode.Should().Be(0, "a refused restore leaves the database as it was");
    }

    /// <summary>An independent Standard Webhooks verifier: HMAC-SHA256 over "id.timestamp.body" with the secret's key.</summary>
    private static bool VerifiesStandard(ReceivedRequest r, string secret)
    {
        var key = Convert.FromBase64String(secret.Split('_', 2)[1]);
        var signed = Encoding.UTF8.GetBytes($"{r.Header("webhook-id")}.{r.Header("webhook-timestamp")}.").Concat(r.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
        return r.Header("webhook-signature").Split(' ').Contains(expected);
    }

    private static class Api
    {
        public static async Task<long> PublishAsync(BusHost host, string type)
        {
            using var response = await host.Http.PostAsync(
                "/api/v1/events", new StringContent(JsonSerializer.Serialize(new { event_type = type, payload = "p" }), Encoding.UTF8, "application/json"),
                TestTimeouts.Token());
            response.EnsureSuccessStatusCode();
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("event_id").GetInt64();
        }
    }
}
