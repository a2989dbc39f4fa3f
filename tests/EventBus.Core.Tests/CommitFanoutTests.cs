using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;

namespace EventBus.Core.Tests;

public sealed class CommitFanoutTests
{
    private static BusEvent Event(long id) =>
        new(id, "note", "p", "s", DateTimeOffset.UnixEpoch, "all", null, SignalLevel.Info, null, null);

    [Fact]
    public async Task Committed_EventsAreInTheWindowBeforeTheWakeUp_AndTheTipMoves()
    {
        var recent = new RecentEvents(8);
        var signal = new CommitSignal();
        var fanout = new CommitFanout(recent, signal, new DeliverySignal());
        var waiting = signal.WaitForAsync(0, TimeSpan.FromSeconds(30), TimeProvider.System, CancellationToken.None);

        fanout.OnCommitted([Event(1), Event(2)]);

        (await waiting).Should().BeTrue();
        signal.Tip.Should().Be(2);
        recent.TryRead(0, 10)!.Events.Select(e => e.Id).Should().Equal(1, 2);
    }

    [Fact]
    public async Task DeliverySignal_HandsEveryNotifiedWebhookOnce_WhetherNotifiedBeforeOrWhileWaiting()
    {
        var deliveries = new DeliverySignal();
        var fanout = new CommitFanout(new RecentEvents(8), new CommitSignal(), deliveries);
        fanout.OnDeliveriesQueued(["a", "b"]);
        fanout.OnDeliveriesQueued(["b", "c"]);
        (await deliveries.WaitAsync(CancellationToken.None)).Should().BeEquivalentTo(["a", "b", "c"]);

        var next = deliveries.WaitAsync(CancellationToken.None);
        next.IsCompleted.Should().BeFalse("nothing is pending");
        fanout.OnDeliveriesQueued(["d"]);
        (await next.WaitAsync(TimeSpan.FromSeconds(30))).Should().BeEquivalentTo(["d"]);
    }
}
