using Microsoft.Extensions.Time.Testing;

namespace EventBus.Server.Tests.Support;

/// <summary>The clock tests move by hand (<see cref="FakeTimeProvider.Advance"/> fires the timers that fall due).</summary>
internal static class TestClock
{
    /// <summary>A fixed start, so dates in assertions and logs do not depend on when the test runs.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 22, 2, 14, 0, TimeSpan.Zero);

    public static FakeTimeProvider Create() => new(Start);
}
