using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Sqlite.Tests;

public class ReadTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<TempStore> SeededAsync()
    {
        var temp = await TempStore.CreateAsync();
        // ids 1..12: channels alternate, types cycle, two correlated, levels mixed.
        for (var i = 1; i <= 12; i++)
        {
            await temp.Store.Events.PublishAsync(TempStore.Event(
                type: (i % 3) switch { 0 => "ci_failed", 1 => "note", _ => "task_completed" },
                channel: i % 2 == 0 ? "repo:x" : "all",
                payload: "e" + i,
                correlation: i is 4 or 9 ? "thread-1" : null,
                level: (i % 3) switch { 0 => SignalLevel.Actionable, 1 => SignalLevel.Info, _ => SignalLevel.Lifecycle },
                title: i == 1 ? "first" : null,
                tags: i == 1 ? ["a", "b"] : null), null, None);
        }

        return temp;
    }

    [Fact]
    public async Task CursorRead_ReturnsOldestUnseenFirst_WithHasMore()
    {
        await using var temp = await SeededAsync();
        var page = await temp.Store.Events.ReadEventsAsync(new EventQuery(3, 4), None);
        page.Events.Select(e => e.Id).Should().Equal(4, 5, 6, 7);
        page.HasMore.Should().BeTrue();
        page.Tip.Should().Be(12);

        var last = await temp.Store.Events.ReadEventsAsync(new EventQuery(8, 4), None);
        last.Events.Select(e => e.Id).Should().Equal(9, 10, 11, 12);
        last.HasMore.Should().BeFalse();
    }

    [Fact]
    public async Task TailRead_ReturnsNewestWindowInAscendingOrder()
    {
        await using var temp = await SeededAsync();
        var page = await temp.Store.Events.ReadEventsAsync(new EventQuery(null, 3), None);
        page.Events.Select(e => e.Id).Should().Equal(10, 11, 12);
        page.HasMore.Should().BeTrue();
    }

    [Fact]
    public async Task Filters_Combine()
    {
        await using var temp = await SeededAsync();
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 50, Channel: "repo:x"), None)).Events.Select(e => e.Id)
            .Should().Equal(2, 4, 6, 8, 10, 12);
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 50, EventTypes: ["ci_failed", "note"]), None)).Events.Select(e => e.Id)
            .Should().Equal(1, 3, 4, 6, 7, 9, 10, 12);
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 50, CorrelationId: "thread-1"), None)).Events.Select(e => e.Id)
            .Should().Equal(4, 9);
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 50, MinLevel: SignalLevel.Actionable), None)).Events.Select(e => e.Id)
            .Should().Equal(3, 6, 9, 12);
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 50, MinLevel: SignalLevel.Info), None)).Events.Select(e => e.Id)
            .Should().Equal(1, 3, 4, 6, 7, 9, 10, 12);
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(5, 50, Channel: "repo:x", MinLevel: SignalLevel.Actionable), None)).Events
            .Select(e => e.Id).Should().Equal(6, 12);
        (await temp.Store.Events.ReadEventsAsync(new EventQuery(null, 2, Channel: "all"), None)).Events.Select(e => e.Id)
            .Should().Equal(9, 11);
    }

    [Fact]
    public async Task Events_RoundTripEveryField()
    {
        await using var temp = await SeededAsync();
        var first = (await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 1), None)).Events.Single();
        first.Should().BeEquivalentTo(new BusEvent(1, "note", "e1", "anonymous", first.Timestamp, "all", null, SignalLevel.Info, "first", ["a", "b"]));
        var fourth = (await temp.Store.Events.ReadEventsAsync(new EventQuery(3, 1), None)).Events.Single();
        fourth.CorrelationId.Should().Be("thread-1");
        fourth.Title.Should().BeNull();
        fourth.Tags.Should().BeNull();
    }

    [Fact]
    public async Task EveryGetEventsQuery_UsesAnIndex()
    {
        await using var temp = await SeededAsync();
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={temp.Path}");
        connection.Open();
        string Plan(string where, string order) =>
            string.Join(" | ", Query(connection, $"EXPLAIN QUERY PLAN SELECT * FROM events WHERE id <= 100 {where} ORDER BY id {order} LIMIT 51"));

        Plan("AND id > 5", "ASC").Should().Contain("USING INTEGER PRIMARY KEY");
        Plan("AND id > 5 AND channel = 'all'", "ASC").Should().Contain("ix_events_channel");
        Plan("AND channel = 'all'", "DESC").Should().Contain("ix_events_channel");
        Plan("AND id > 5 AND correlation_id = 'x'", "ASC").Should().Contain("ix_events_correlation");
        Plan("AND id > 5 AND signal_level = 2", "ASC").Should().Contain("ix_events_level");
        Plan("AND id > 5 AND event_type IN ('a','b')", "ASC").Should().ContainAny("ix_events_type", "INTEGER PRIMARY KEY");
        Plan("", "DESC").Should().NotContain("SCAN events").And.NotContain("TEMP B-TREE");
    }

    private static List<string> Query(Microsoft.Data.Sqlite.SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(3));
        }

        return rows;
    }
}
