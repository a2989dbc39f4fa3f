using System.Threading.RateLimiting;

namespace EventBus.Server.Limits;

/// <summary>
/// A token bucket on <see cref="TimeProvider"/>: refilled continuously at <c>perSecond</c>, holding at most <c>burst</c>.
/// The framework's <see cref="TokenBucketRateLimiter"/> reads the wall clock (no <see cref="TimeProvider"/> in .NET 10),
/// so tests could not move its time; this one refills lazily on each acquire, with no timer. It never queues: a request
/// over the limit is refused at once with <see cref="MetadataName.RetryAfter"/>, and the caller answers 429.
/// A request for more tokens than the burst (a large batch) is allowed when the bucket is full and leaves it in debt,
/// so the sustained rate holds for batches too.
/// </summary>
internal sealed class ClockTokenBucket(double perSecond, int burst, TimeProvider time) : RateLimiter
{
    private readonly Lock _lock = new();
    private double _tokens = burst;
    private long _updated = time.GetTimestamp();
    private long _granted;
    private long _refused;

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                // Full since the moment the refill reached the burst; a full bucket is as good as a new one.
                var fullFor = time.GetElapsedTime(_updated) - TimeSpan.FromSeconds((burst - _tokens) / perSecond);
                return fullFor >= TimeSpan.Zero ? fullFor : null;
            }
        }
    }

    public override RateLimiterStatistics GetStatistics()
    {
        lock (_lock)
        {
            Refill();
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)Math.Floor(_tokens),
                CurrentQueuedCount = 0,
                TotalSuccessfulLeases = _granted,
                TotalFailedLeases = _refused,
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_lock)
        {
            Refill();
            var needed = Math.Min(permitCount, burst);
            if (_tokens >= needed)
            {
                _tokens -= permitCount;
                _granted++;
                return Lease.Granted;
            }

            _refused++;
            return new Lease(TimeSpan.FromSeconds((needed - _tokens) / perSecond));
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private void Refill()
    {
        var now = time.GetTimestamp();
        _tokens = Math.Min(burst, _tokens + (time.GetElapsedTime(_updated, now).TotalSeconds * perSecond));
        _updated = now;
    }

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(null);

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
