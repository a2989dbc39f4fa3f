using EventBus.Core.Events;
using EventBus.Core.Webhooks;

namespace EventBus.Sqlite.Tests;

/// <summary>The transactional outbox: deliveries are written by the writer, in the same transaction as their event.</summary>
public sealed class OutboxTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static Webhook Hook(string id, string channel = "", IReadOnlyList<string>? types = null) =>
        new(id, "https://example.com/" + id, channel, types, true, DateTimeOffset.UnixEpoch, [1, 2, 3], null, null);

    [Fact]
    public async Task EveryMatchingEvent_GetsOneDeliveryPerWebhook_InTheSameCommit()
    {
        var observer = new RecordingObserver();
        await using var temp = await TempStore.CreateAsync(observer);
        await temp.Store.Webhooks.AddWebhookAsync(Hook("all"), None);
        await temp.Store.Webhooks.AddWebhookAsync(Hook("ci", "repo:", ["ci_failed"]), None);

        var a = (await temp.Store.Events.PublishAsync(TempStore.Event("ci_failed", "repo:x"), null, None)).Event;
        var b = (await temp.Store.Events.PublishAsync(TempStore.Event("note", "repo:x"), null, None)).Event;

        (await temp.Store.Webhooks.NextDeliveriesAsync("all", 10, None)).Select(d => d.Event.Id).Should().Equal(a.Id, b.Id);
        (await temp.Store.Webhooks.NextDeliveriesAsync("ci", 10, None)).Select(d => d.Event.Id).Should().Equal(a.Id);
        observer.QueuedWebhooks.Should().Contain(["all", "ci"]);
    }

    [Fact]
    public async Task AFailingWriteInAGroup_LeavesNoDeliveryBehind_AndTheOthersKeepTheirs()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.Webhooks.AddWebhookAsync(Hook("all"), None);

        // Many publishes at once share commit groups; the bad one (NOT NULL violated) fails alone when its group is retried.
        var tasks = Enumerable.Range(0, 40)
            .Select(i => temp.Store.Events.PublishAsync(i == 17 ? TempStore.Event() with { EventType = null! } : TempStore.Event(payload: i.ToString(System.Globalization.CultureInfo.InvariantCulture)), null, None))
            .ToList();
        var failure = async () => await tasks[17];
        await failure.Should().ThrowAsync<Exception>();
        var stored = new List<long>();
        foreach (var task in tasks.Where((_, i) => i != 17))
        {
            stored.Add((await task).Event.Id);
        }

        var deliveries = await temp.Store.Webhooks.NextDeliveriesAsync("all", 100, None);
        deliveries.Select(d => d.Event.Id).Should().BeEquivalentTo(stored);
        var page = await temp.Store.Events.ReadEventsAsync(new Core.Store.EventQuery(0, 100), None);
        page.Events.Should().HaveCount(39);
    }

    [Fact]
    public async Task AFailedWebhookChange_DoesNotLeaveItsRoutesBehind()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.Webhooks.AddWebhookAsync(Hook("w1", "alerts"), None);
        var duplicate = async () => await temp.Store.Webhooks.AddWebhookAsync(Hook("w1", ""), None);
        await duplicate.Should().ThrowAsync<Exception>("the id is taken");

        await temp.Store.Events.PublishAsync(TempStore.Event(channel: "all"), null, None);
        (await temp.Store.Webhooks.NextDeliveriesAsync("w1", 10, None)).Should().BeEmpty("the refused registration's catch-all filter never took effect");
        await temp.Store.Webhooks.SetWebhookActiveAsync("w1", false, "paused", None);
        await temp.Store.Events.PublishAsync(TempStore.Event(channel: "alerts"), null, None);
        (await temp.Store.Webhooks.NextDeliveriesAsync("w1", 10, None)).Should().BeEmpty("an inactive webhook gets nothing");
    }

    [Fact]
    public async Task IngestKeys_StoreARetriedRequestOnce_UntilTheyExpire()
    {
        await using var temp = await TempStore.CreateAsync();
        var expires = DateTimeOffset.UnixEpoch.AddYears(100);
        var first = await temp.Store.Events.IngestAsync(TempStore.Event(payload: "a"), "k1", expires, None);
        var second = await temp.Store.Events.IngestAsync(TempStore.Event(payload: "b"), "k1", expires, None);
        second.Duplicate.Should().BeTrue();
        second.Event.Id.Should().Be(first.Event.Id);
        second.Event.Payload.Should().Be("a");

        var past = await temp.Store.Events.IngestAsync(TempStore.Event(payload: "c"), "k2", DateTimeOffset.UnixEpoch, None);
        var afterExpiry = await temp.Store.Events.IngestAsync(TempStore.Event(payload: "d"), "k2", expires, None);
        afterExpiry.Duplicate.Should().BeFalse();
        afterExpiry.Event.Id.Should().NotBe(past.Event.Id);
    }
}
