using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EventBus.Server.Hosting;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventBus.Server.Tests.Faults;

/// <summary>
/// A full disk and a database locked by another process, for real: a tmpfs that fills up, a second connection holding
/// an exclusive lock. Each is answered with a clear 507/503 (never a bare 500), /health says the store is not writable,
/// and the bus recovers by itself once the cause is gone, losing nothing it acknowledged.
/// </summary>
public sealed class StoreFaultTests
{
    // Generous bounds that only tell "honours the busy timeout" from "waits Microsoft.Data.Sqlite's 30 s twice"; the
    // figure itself is not asserted (no timing asserts), only that it is not the old ~62 s.
    private static readonly TimeSpan WellPastTheBusyTimeout = TimeSpan.FromSeconds(12);

    // Every event the disk-full test's bus acknowledged, by id, with its payload.
    private readonly Dictionary<long, string> _acknowledged = [];

    [SkippableFact]
    public async Task DiskFull_PublishIs507WithAProblem_HealthIsDegraded_AndTheBusRecoversOnceSpaceIsFreed_LosingNothing()
    {
        using var disk = Tmpfs.TryMount(3 * 1024 * 1024, out var whyNot);
        Skip.If(disk is null, whyNot);

        // Most of the disk is taken by something else; the bus gets what is left.
        var filler = Path.Combine(disk!.Path, "filler");
        await File.WriteAllBytesAsync(filler, new byte[2 * 1024 * 1024]);
        BusHost? host = await BusHost.StartInAsync(Path.Combine(disk.Path, "bus"));
        try
        {
            await FillRefuseAndRecoverAsync(host);
            host.KeepDirectory = true;
            await host.DisposeAsync();
            var directory = host.Directory;
            host = null;
            await using var restarted = await BusHost.StartInAsync(directory);
            await EveryAcknowledgedEventIsStoredAsync(restarted, _acknowledged);
            await restarted.PublishAsync("after-restart");
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }

        async Task FillRefuseAndRecoverAsync(BusHost host)
        {
            var client = await host.ConnectAsync();
            await client.CallAsync("register_session", new { name = "writer", machine = "m", client_id = "w" });

            var payload = new string('x', 2048);
            var acknowledged = _acknowledged;
            HttpResponseMessage? refused = null;
            for (var i = 0; i < 2_000 && refused is null; i++)
            {
                var body = JsonSerializer.Serialize(new { event_type = "fill", payload = $"{i}:{payload}", channel = "all" });
                var response = await host.PostApiAsync("/api/v1/events", body);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged[(await ApiCalls.JsonAsync(response)).GetProperty("event_id").GetInt64()] = $"{i}:{payload}";
                    response.Dispose();
                }
                else
                {
                    refused = response;
                }
            }

            refused.Should().NotBeNull("a 3 MiB disk fills up long before 2,000 events of 2 KiB");
            acknowledged.Should().NotBeEmpty();
            using (refused)
            {
                var detail = await ApiCalls.ProblemDetailAsync(refused!, HttpStatusCode.InsufficientStorage);
                detail.Should().Contain("disk").And.Contain("full").And.Contain(host.DatabasePath);
                refused!.Headers.RetryAfter.Should().NotBeNull();
                (await ApiCalls.JsonAsync(refused)).GetProperty("fault").GetString().Should().Be("disk_full");
            }

            (await client.CallFailingAsync("publish_event", new { event_type = "x", payload = "y", channel = "all" }))
                .Should().Contain("is full");
            var health = await HealthAsync(host);
            health.Status.Should().Be(HttpStatusCode.ServiceUnavailable);
            health.Body.GetProperty("status").GetString().Should().Be("degraded");
            health.Body.GetProperty("store").GetProperty("writable").GetBoolean().Should().BeFalse();
            health.Body.GetProperty("store").GetProperty("fault").GetString().Should().Be("disk_full");

            // Free less than the WAL holds: the bus must give itself the rest back (checkpoint, truncate the WAL).
            var wal = new FileInfo(host.DatabasePath + "-wal").Length;
            const int Freed = 256 * 1024;
            wal.Should().BeGreaterThan(Freed, "the point is recovering when less space is freed than the WAL took");
            using (var stream = new FileStream(filler, FileMode.Open))
            {
                stream.SetLength(stream.Length - Freed);
            }

            await Waiting.UntilAsync(host.Service<EventBus.Sqlite.SqliteDatabase>().FaultChanged, async () => (await HealthAsync(host)).Status == HttpStatusCode.OK);
            var after = await host.PublishAsync("after-recovery");
            acknowledged[after] = "after-recovery payload";

            await EveryAcknowledgedEventIsStoredAsync(host, acknowledged);
        }
    }

    [Fact]
    public async Task LockedDatabase_PublishIs503WithinTheBusyTimeout_HealthSaysLocked_AndItRecoversAfterTheUnlock()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:Store:BusyTimeout=00:00:01");
        var client = await host.ConnectAsync();
        var before = await host.PublishAsync("before-lock");

        using (var holder = new SqliteConnection($"Data Source={host.DatabasePath};Pooling=false"))
        {
            holder.Open();
            using var exclusive = holder.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);
            using (var insert = holder.CreateCommand())
            {
                insert.Transaction = exclusive;
                insert.CommandText = "CREATE TABLE held_by_another_process (x)";
                insert.ExecuteNonQuery();
            }

            var clock = Stopwatch.StartNew();
            using var refused = await host.PostApiAsync("/api/v1/events", """{"event_type":"x","payload":"y","channel":"all"}""");
            clock.Elapsed.Should().BeLessThan(WellPastTheBusyTimeout, "the 1 s busy timeout is honoured, not waited for again and again");
            var detail = await ApiCalls.ProblemDetailAsync(refused, HttpStatusCode.ServiceUnavailable);
            detail.Should().Contain("locked by another process").And.Contain(host.DatabasePath);
            refused.Headers.RetryAfter.Should().NotBeNull();

            (await client.CallFailingAsync("publish_event", new { event_type = "x", payload = "y", channel = "all" }))
                .Should().Contain("locked");
            var health = await HealthAsync(host);
            health.Status.Should().Be(HttpStatusCode.ServiceUnavailable);
            health.Body.GetProperty("store").GetProperty("fault").GetString().Should().Be("locked");
            (await host.GetJsonAsync("/api/v1/health")).GetProperty("status").GetString().Should().Be("degraded", "the dashboard's health view says so too");

            // Reads go on while another process writes (WAL).
            (await host.StoredIdsAsync()).Should().Contain(before);
            exclusive.Rollback();
        }

        await Waiting.UntilAsync(host.Service<EventBus.Sqlite.SqliteDatabase>().FaultChanged, async () => (await HealthAsync(host)).Status == HttpStatusCode.OK);
        var after = await host.PublishAsync("after-unlock");
        (await host.StoredIdsAsync()).Should().Equal(before, after);
    }

    [Fact]
    public async Task Start_OnADatabaseLockedByAnotherProcess_FailsWithinTheBusyTimeout_NamingTheFile()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "bus.db");
        try
        {
            // A rollback-journal database (as sqlite3 makes one) with a write transaction open in another connection.
            using var holder = new SqliteConnection($"Data Source={path};Pooling=false");
            holder.Open();
            using var exclusive = holder.BeginTransaction(deferred: false);
            using (var create = holder.CreateCommand())
            {
                create.Transaction = exclusive;
                create.CommandText = "PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE t (x); INSERT INTO t VALUES (1);";
                create.ExecuteNonQuery();
            }

            await using var app = EventBusApp.Build(["--port", "0", "--db", path, "--EventBus:Store:BusyTimeout=00:00:01"]);
            var clock = Stopwatch.StartNew();
            var start = async () => await app.StartEventBusAsync(TestTimeouts.Token());
            var failure = await start.Should().ThrowAsync<ConfigurationException>();
            clock.Elapsed.Should().BeLessThan(WellPastTheBusyTimeout);
            failure.Which.Message.Should().Contain(path).And.Contain("locked by another process").And.Contain("BusyTimeout");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> HealthAsync(BusHost host)
    {
        using var response = await host.Http.GetAsync("/health", TestTimeouts.Token());
        return (response.StatusCode, await ApiCalls.JsonAsync(response));
    }

    private static async Task EveryAcknowledgedEventIsStoredAsync(BusHost host, Dictionary<long, string> acknowledged)
    {
        var stored = new Dictionary<long, string>();
        long cursor = 0;
        while (true)
        {
            var page = await host.GetJsonAsync($"/api/v1/events?cursor={cursor}&limit=500&order=asc");
            foreach (var e in page.GetProperty("events").EnumerateArray())
            {
                stored[e.GetProperty("id").GetInt64()] = e.GetProperty("payload").GetString()!;
                cursor = e.GetProperty("id").GetInt64();
            }

            if (!page.GetProperty("has_more").GetBoolean())
            {
                break;
            }
        }

        foreach (var (id, payload) in acknowledged)
        {
            stored.Should().ContainKey(id);
            stored[id].Should().Be(payload);
        }
    }
}
