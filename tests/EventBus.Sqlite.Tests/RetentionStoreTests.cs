using Dapper;
using EventBus.Core.Retention;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite.Tests;

/// <summary>The SQLite side of retention: batches, the keep rules, the mark, and space given back.</summary>
public sealed class RetentionStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ABatch_DeletesTheOldestMatching_NeverTheNewest_AndRaisesTheMark()
    {
        await using var temp = await TempStore.CreateAsync();
        var ids = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add((await temp.Store.Events.PublishAsync(TempStore.Event(channel: "mqtt:a"), null, None)).Event.Id);
        }

        var first = await temp.Store.Retention.DeleteAsync(new RetentionSelection(["mqtt:a"], null), 4, None);
        first.Deleted.Should().Be(4);
        first.Mark.Should().Be(new RetentionMark(ids[3], 4));
        var rest = await temp.Store.Retention.DeleteAsync(new RetentionSelection(null, null), 100, None);
        rest.Deleted.Should().Be(1, "the newest event stays, so its id is never handed out again");
        (await temp.Store.Events.ReadEventsAsync(new Core.Store.EventQuery(0, 10), None)).Events.Select(e => e.Id).Should().Equal(ids[^1]);

        await temp.ReopenAsync();
        (await temp.Store.Retention.GetMarkAsync(None)).Should().Be(new RetentionMark(ids[4], 5));
        (await temp.Store.Events.PublishAsync(TempStore.Event(), null, None)).Event.Id.Should().Be(ids[^1] + 1);
    }

    [Fact]
    public async Task AnAgeSelection_LeavesYoungerEvents()
    {
        await using var temp = await TempStore.CreateAsync();
        var old = (await temp.Store.Events.PublishAsync(TempStore.Event(), null, None)).Event;
        var young = (await temp.Store.Events.PublishAsync(TempStore.Event() with { Timestamp = old.Timestamp.AddDays(3) }, null, None)).Event;
        await temp.Store.Events.PublishAsync(TempStore.Event() with { Timestamp = old.Timestamp.AddDays(4) }, null, None);

        var batch = await temp.Store.Retention.DeleteAsync(new RetentionSelection(["all"], old.Timestamp.AddDays(1)), 100, None);
        batch.Deleted.Should().Be(1);
        batch.Mark.DeletedThrough.Should().Be(old.Id);
        var usage = await temp.Store.Retention.GetUsageAsync(None);
        usage.Channels.Should().ContainSingle().Which.Should().Match<ChannelUsage>(c => c.Events == 2 && c.OldestId == young.Id);
    }

    [Fact]
    public async Task AnOlderDatabase_IsSwitchedToIncrementalVacuum_AndDeletedSpaceIsGivenBack()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "bus.db");
        // A database as versions before retention made it: auto_vacuum NONE, with data.
        using (var old = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            old.Open();
            old.Execute("CREATE TABLE filler (x TEXT)");
            old.ExecuteScalar<long>("PRAGMA auto_vacuum").Should().Be(0);
        }

        var store = new SqliteStore(new SqliteStoreOptions { Path = path });
        try
        {
            await store.InitializeAsync(None);
            var payload = new string('x', 4000);
            for (var i = 0; i < 300; i++)
            {
                await store.Events.PublishAsync(TempStore.Event(payload: payload), null, None);
            }

            await store.CheckpointAsync(None);
            (await store.Retention.DeleteAsync(new RetentionSelection(null, null), 299, None)).Deleted.Should().Be(299);
            var before = await store.Retention.GetUsageAsync(None);
            before.FreeBytes.Should().BePositive("deleted rows leave free pages");
            var given = await store.Retention.ReclaimAsync(long.MaxValue, None);
            given.Should().Be(before.FreeBytes);
            (await store.Retention.GetUsageAsync(None)).FreeBytes.Should().Be(0);
        }
        finally
        {
            await store.DisposeAsync();
        }

        using var check = new SqliteConnection($"Data Source={path};Pooling=false");
        check.Open();
        check.ExecuteScalar<long>("PRAGMA auto_vacuum").Should().Be(2, "INCREMENTAL, switched once when first opened");
        Directory.Delete(directory, recursive: true);
    }
}
