using Polly;
using Polly.Retry;

namespace EventBus.Cli.Client;

/// <summary>
/// The one way the CLI waits for the bus to come back (publish --stdin, the stream follower, the channel's
/// registration): a Polly retry pipeline on <see cref="TimeProvider"/> that retries, until cancelled, every failure
/// <c>handle</c> accepts, first after <c>initial</c>, doubling up to <c>max</c>. A caller that got through (a stream
/// connected, a line published) calls <see cref="Reset"/> so the next outage starts from the first delay again.
/// </summary>
internal sealed class BusRetry
{
    public static readonly TimeSpan DefaultInitialDelay = TimeSpan.FromMilliseconds(250);

    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(10);

    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private int _failures;

    /// <param name="onRetry">Told each failure and the wait before the next try (to say so on stderr or in the log).</param>
    public BusRetry(
        TimeProvider time, Func<Exception, bool> handle, Func<Exception, TimeSpan, ValueTask> onRetry, TimeSpan? initial = null, TimeSpan? max = null)
    {
        _initial = initial ?? DefaultInitialDelay;
        _max = max ?? DefaultMaxDelay;
        Pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && handle(ex)),
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = _ => ValueTask.FromResult<TimeSpan?>(Delay(Interlocked.Increment(ref _failures) - 1)),
                OnRetry = args => onRetry(args.Outcome.Exception!, args.RetryDelay),
            })
            .Build();
    }

    public ResiliencePipeline Pipeline { get; }

    /// <summary>The bus was reached: the next failure waits the first delay again.</summary>
    public void Reset() => Interlocked.Exchange(ref _failures, 0);

    /// <summary>The wait after the <paramref name="failures"/>-th failure in a row (0-based).</summary>
    private TimeSpan Delay(int failures) =>
        failures >= 30 ? _max : TimeSpan.FromTicks(Math.Min(_initial.Ticks << failures, _max.Ticks));
}
