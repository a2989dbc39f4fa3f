using EventBus.Core.Events;

namespace EventBus.Core.Tests;

public class ChangeSignalTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Next_CompletesAtTheNextNotify_NotBefore()
    {
        var signal = new ChangeSignal();
        var next = signal.NextAsync();
        next.IsCompleted.Should().BeFalse();

        signal.Notify();
        await next.WaitAsync(Long);
    }

    [Fact]
    public async Task EveryoneWaiting_IsWokenByOneNotify()
    {
        var signal = new ChangeSignal();
        var first = signal.NextAsync();
        var second = signal.NextAsync();

        signal.Notify();
        await Task.WhenAll(first, second).WaitAsync(Long);
    }

    [Fact]
    public void ANotifyBeforeAnyoneWaits_IsNotKept_TheNextWaitIsForTheNextChange()
    {
        var signal = new ChangeSignal();
        signal.Notify();
        signal.NextAsync().IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task AfterAWakeUp_TheNextWaitIsForAFreshChange()
    {
        var signal = new ChangeSignal();
        var first = signal.NextAsync();
        signal.Notify();
        await first.WaitAsync(Long);

        var second = signal.NextAsync();
        second.IsCompleted.Should().BeFalse();
        signal.Notify();
        await second.WaitAsync(Long);
    }
}
