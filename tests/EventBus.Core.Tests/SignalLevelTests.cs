using EventBus.Core.Events;

namespace EventBus.Core.Tests;

public class SignalLevelTests
{
    [Theory]
    [InlineData("session_registered", SignalLevel.Lifecycle)]
    [InlineData("session_unregistered", SignalLevel.Lifecycle)]
    [InlineData("ci_watching", SignalLevel.Lifecycle)]
    [InlineData("ci_rerun", SignalLevel.Lifecycle)]
    [InlineData("task_started", SignalLevel.Lifecycle)]
    [InlineData("parallel_work_started", SignalLevel.Lifecycle)]
    [InlineData("help_needed", SignalLevel.Actionable)]
    [InlineData("blocker_found", SignalLevel.Actionable)]
    [InlineData("ci_failed", SignalLevel.Actionable)]
    [InlineData("error_broadcast", SignalLevel.Actionable)]
    [InlineData("task_completed", SignalLevel.Info)]
    [InlineData("anything_else", SignalLevel.Info)]
    public void Resolve_WithoutExplicitLevel_FollowsEventType(string eventType, SignalLevel expected) =>
        SignalLevels.Resolve(null, "all", eventType).Should().Be(expected);

    [Fact]
    public void Resolve_DirectMessage_IsActionableWhateverTheType() =>
        SignalLevels.Resolve(null, "session:abc", "session_registered").Should().Be(SignalLevel.Actionable);

    [Fact]
    public void Resolve_ExplicitLevel_WinsOverChannelAndType()
    {
        SignalLevels.Resolve(SignalLevel.Lifecycle, "session:abc", "help_needed").Should().Be(SignalLevel.Lifecycle);
        SignalLevels.Resolve(SignalLevel.Actionable, "all", "task_completed").Should().Be(SignalLevel.Actionable);
    }

    [Theory]
    [InlineData("lifecycle", SignalLevel.Lifecycle)]
    [InlineData("info", SignalLevel.Info)]
    [InlineData("actionable", SignalLevel.Actionable)]
    public void TryParse_KnownNames_RoundTrip(string name, SignalLevel level)
    {
        SignalLevels.TryParse(name, out var parsed).Should().BeTrue();
        parsed.Should().Be(level);
        parsed.ToWire().Should().Be(name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Info")]
    [InlineData("urgent")]
    [InlineData(null)]
    public void TryParse_UnknownNames_AreRefused(string? name) => SignalLevels.TryParse(name, out _).Should().BeFalse();

    [Fact]
    public void Levels_AreOrdered() =>
        new[] { SignalLevel.Actionable, SignalLevel.Lifecycle, SignalLevel.Info }.Order()
            .Should().Equal(SignalLevel.Lifecycle, SignalLevel.Info, SignalLevel.Actionable);
}
