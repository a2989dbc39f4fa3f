using EventBus.Cli.Client;

namespace EventBus.Cli.Tests.Client;

/// <summary>The CLI's one retry pipeline: the waits it takes, on the injected clock, and what ends it.</summary>
public sealed class BusRetryTests
{
    [Fact]
    public async Task Retries_WithDoublingWaitsUpToTheMax_AndResetStartsOver()
    {
        var time = TestClock.Create();
        var waits = new List<TimeSpan>();
        var retried = new SemaphoreSlim(0);
        var retry = new BusRetry(time, ex => ex is BusUnavailableException, (_, wait) =>
        {
            waits.Add(wait);
            retried.Release();
            return ValueTask.CompletedTask;
        }, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        var failuresLeft = 5;

        var run = retry.Pipeline.ExecuteAsync(_ =>
        {
            if (failuresLeft-- > 0)
            {
                throw new BusUnavailableException(new Uri("http://127.0.0.1:1/mcp"), "refused");
            }

            return ValueTask.FromResult("published");
        }, TestTimeouts.Token()).AsTask();
        for (var i = 0; i < 5; i++)
        {
            await retried.WaitAsync(TestTimeouts.Token());
            run.IsCompleted.Should().BeFalse("it waits on the clock");
            time.Advance(waits[^1]);
        }

        (await run.WaitAsync(TestTimeouts.Default)).Should().Be("published");
        waits.Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));

        retry.Reset();
        waits.Clear();
        var again = retry.Pipeline.ExecuteAsync(_ => failuresLeft-- > -2
            ? throw new BusUnavailableException(new Uri("http://127.0.0.1:1/mcp"), "refused")
            : ValueTask.FromResult("published"), TestTimeouts.Token()).AsTask();
        await retried.WaitAsync(TestTimeouts.Token());
        waits.Should().Equal(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        (await again.WaitAsync(TestTimeouts.Default)).Should().Be("published");
    }

    [Fact]
    public async Task FailuresItDoesNotHandle_EndItAtOnce()
    {
        var retry = new BusRetry(TestClock.Create(), ex => ex is BusUnavailableException, (_, _) => ValueTask.CompletedTask);

        var run = retry.Pipeline.ExecuteAsync<string>(_ => throw new BusCallException("refused"), TestTimeouts.Token()).AsTask();

        await run.Invoking(r => r).Should().ThrowAsync<BusCallException>();
    }
}
