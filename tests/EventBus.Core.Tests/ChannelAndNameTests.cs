using EventBus.Core.Channels;
using EventBus.Core.Events;
using EventBus.Core.Sessions;

namespace EventBus.Core.Tests;

public class ChannelAndNameTests
{
    [Fact]
    public void ImpliedSubscriptions_AreBroadcastDirectRepoAndMachine() =>
        ChannelName.ImpliedSubscriptions("s1", "eventbus", "laptop")
            .Should().Equal("all", "session:s1", "repo:eventbus", "machine:laptop");

    [Theory]
    [InlineData("session:abc", true)]
    [InlineData("session:", true)]
    [InlineData("sessions:abc", false)]
    [InlineData("all", false)]
    [InlineData("repo:session:x", false)]
    public void IsDirect_MatchesSessionPrefixOnly(string channel, bool expected) => ChannelName.IsDirect(channel).Should().Be(expected);

    [Fact]
    public void DisplayIds_AreAdjectiveDashDinosaur()
    {
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            DisplayIds.Next(random).Should().MatchRegex("^[a-z]+-[a-z]+$");
        }
    }

    [Fact]
    public void Timestamps_AreUtcWithMillisecondsAndZ()
    {
        var moment = new DateTimeOffset(2026, 11, 22, 5, 55, 13, 395, TimeSpan.FromHours(2));
        Timestamps.ToWire(moment).Should().Be("2026-11-22T03:55:13.395Z");
    }
}
