using EventBus.Core.Bus;
using EventBus.Core.Channels;

namespace EventBus.Core.Tests;

public class ChannelPatternTests
{
    [Theory]
    [InlineData("repo:*", "repo:eventbus", true)]
    [InlineData("repo:*", "repo:eventbus:main", false)]
    [InlineData("repo:*", "repo", false)]
    [InlineData("repo:*", "machine:x", false)]
    [InlineData("alerts:#", "alerts", true)]
    [InlineData("alerts:#", "alerts:disk", true)]
    [InlineData("alerts:#", "alerts:disk:sda:full", true)]
    [InlineData("alerts:#", "alertsx", false)]
    [InlineData("alerts:#", "other:alerts", false)]
    [InlineData("#", "anything:at:all", true)]
    [InlineData("*:main", "repo:main", true)]
    [InlineData("*:main", "repo:dev", false)]
    [InlineData("a:*:c", "a:b:c", true)]
    [InlineData("a:*:c", "a::c", true)]
    [InlineData("a:*:c", "a:b:d", false)]
    [InlineData("all", "all", true)]
    [InlineData("all", "all:x", false)]
    [InlineData("session:abc", "session:abc", true)]
    [InlineData("session:abc", "session:abcd", false)]
    [InlineData("mqtt:plant:#", "mqtt:plant:line1:temp", true)]
    public void Matches_BySegment(string pattern, string channel, bool expected) =>
        ChannelPattern.Parse(pattern).Matches(channel).Should().Be(expected);

    [Theory]
    [InlineData("alerts:#:x", "'#' (any depth) may only be the last segment")]
    [InlineData("repo:foo*", "a wildcard must be a whole segment")]
    [InlineData("repo:#bar", "a wildcard must be a whole segment")]
    [InlineData("", "channel must not be empty")]
    public void Parse_RefusesMalformedPatterns(string pattern, string message) =>
        FluentActions.Invoking(() => ChannelPattern.Parse(pattern)).Should().Throw<BusValidationException>().WithMessage("*" + message + "*");
}
