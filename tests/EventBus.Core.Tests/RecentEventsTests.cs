using EventBus.Core.Events;

namespace EventBus.Core.Tests;

public sealed class RecentEventsTests
{
    [Fact]
    public void Empty_VouchesForNothing()
    {
        new RecentEvents(4).TryRead(0, 10).Should().BeNull();
    }

    [Fact]
    public void ReadsAnUnbrokenRunAfterACursor_InPages()
    {
        var recent = new RecentEvents(8);
        recent.Add([Event(5), Event(6), Event(7)]);
        recent.Add([Event(8)]);

        var page = recent.TryRead(5, 2)!;
        page.Events.Select(e => e.Id).Should().Equal(6, 7);
        page.HasMore.Should().BeTrue();
        page.Tip.Should().Be(8);

        recent.TryRead(7, 10)!.Events.Select(e => e.Id).Should().Equal(8);
        recent.TryRead(4, 10)!.Events.Select(e => e.Id).Should().Equal(new long[] { 5, 6, 7, 8 }, "the window starts at 5, so it holds everything after 4");
        recent.TryRead(8, 10)!.Events.Should().BeEmpty();
        recent.TryRead(8, 10)!.HasMore.Should().BeFalse();
        recent.TryRead(3, 10).Should().BeNull("event 4 was committed before the window started");
    }

    [Fact]
    public void OldEventsFallOutOfTheWindow()
    {
        var recent = new RecentEvents(4);
        recent.Add([.. Enumerable.Range(1, 10).Select(i => Event(i))]);
        recent.TryRead(6, 10)!.Events.Select(e => e.Id).Should().Equal(7, 8, 9, 10);
        recent.TryRead(5, 10).Should().BeNull("6 is no longer held");
    }

    [Fact]
    public void AGapInIds_StartsTheWindowAgain()
    {
        var recent = new RecentEvents(16);
        recent.Add([Event(1), Event(2)]);
        recent.Add([Event(5), Event(6)]);
        recent.TryRead(4, 10)!.Events.Select(e => e.Id).Should().Equal(5, 6);
        recent.TryRead(2, 10).Should().BeNull("3 and 4 are not in memory: the store has to say what they are");
    }

    [Fact]
    public void LargePayloadsLeaveTheWindowSooner_ItStaysWithinItsByteBudget()
    {
        var recent = new RecentEvents(1000, maxBytes: 130_000);
        recent.Add([.. Enumerable.Range(1, 10).Select(i => Event(i, new string('x', 20_000)))]);
        var page = recent.TryRead(7, 10)!;
        page.Events.Select(e => e.Id).Should().Equal(8, 9, 10);
        recent.TryRead(6, 10).Should().BeNull("only the newest events that fit 130 KB (three of ~40 KB) are held");

        recent.Add([Event(11)]);
        recent.TryRead(7, 10)!.Events.Select(e => e.Id).Should().Equal(8, 9, 10, 11);
    }

    private static BusEvent Event(long id, string payload = "p") =>
        new(id, "t", payload, "s", DateTimeOffset.UnixEpoch, "all", null, SignalLevel.Info, null, null);
}
