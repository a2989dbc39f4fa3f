using EventBus.Core.Events;

namespace EventBus.Core.Tests;

public class CommitSignalTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WaitFor_ReturnsAtOnce_WhenTheTipIsAlreadyPast()
    {
        var signal = new CommitSignal();
        signal.Notify(5);
        (await signal.WaitForAsync(4, Long, TimeProvider.System, CancellationToken.None)).Should().BeTrue();
    }

    [Fact]
    public async Task WaitFor_WakesOnTheCommitThatPassesTheCursor_NotBefore()
    {
        var signal = new CommitSignal();
        signal.Notify(3);
        var waiting = signal.WaitForAsync(4, Long, TimeProvider.System, CancellationToken.None);
        signal.Notify(4);
        waiting.IsCompleted.Should().BeFalse("event 4 is not newer than cursor 4");
        signal.Notify(6);
        (await waiting.WaitAsync(Long)).Should().BeTrue();
        signal.Tip.Should().Be(6);
    }

    [Fact]
    public async Task WaitFor_GivesUpAfterTheTimeout_OnTheInjectedClock()
    {
        var time = new StepClock();
        var signal = new CommitSignal();
        var waiting = signal.WaitForAsync(0, TimeSpan.FromSeconds(10), time, CancellationToken.None);
        waiting.IsCompleted.Should().BeFalse();
        time.Fire();
        (await waiting.WaitAsync(Long)).Should().BeFalse();
    }

    [Fact]
    public void Tip_NeverMovesBackwards()
    {
        var signal = new CommitSignal();
        signal.Notify(9);
        signal.Notify(7);
        signal.Tip.Should().Be(9);
    }

    /// <summary>A clock whose single pending timer fires on demand, jumping time past it.</summary>
    private sealed class StepClock : TimeProvider
    {
        private long _now;
        private (TimerCallback Callback, object? State, long Due)? _timer;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _now);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _timer = (callback, state, _now + dueTime.Ticks);
            return new NoTimer();
        }

        public void Fire()
        {
            var (callback, state, due) = _timer!.Value;
            Interlocked.Exchange(ref _now, due);
            callback(state);
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
