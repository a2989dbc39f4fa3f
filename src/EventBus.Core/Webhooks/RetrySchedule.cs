using System.Globalization;
using System.Net.Http.Headers;

namespace EventBus.Core.Webhooks;

/// <summary>
/// When a failed delivery is tried again: the Standard Webhooks schedule (the first attempt immediately, then after
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 27.6 hours), each delay spread by up to
/// ±<see cref="Jitter"/> so that endpoints recovering together are not hit together, and never earlier than a
/// <c>Retry-After</c> the receiver sent with 429 or 503.
/// </summary>
public sealed class RetrySchedule(double jitter = 0.1, Func<double>? random = null)
{
    /// <summary>The waits after the 1st, 2nd, ... failed attempt.</summary>
    public static readonly IReadOnlyList<TimeSpan> Delays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>The longest <c>Retry-After</c> honoured; a larger one is capped here.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(24);

    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;

    /// <summary>The most attempts a delivery gets.</summary>
    public static int MaxAttempts => Delays.Count + 1;

    /// <summary>
    /// A 4xx answer that retrying will not change: every 4xx but 408 (Request Timeout), 409 (Conflict), 425 (Too Early)
    /// and 429 (Too Many Requests), which say "later", and 410 (Gone), which disables the webhook.
    /// </summary>
    public static bool IsPermanentRejection(int? statusCode) =>
        statusCode is >= 400 and < 500 and not (408 or 409 or 410 or 425 or 429);

    /// <summary>The relative spread of each delay (0.1: ±10 %).</summary>
    public double Jitter => jitter;

    /// <summary>
    /// The wait after failed attempt number <paramref name="attempt"/> (1-based), or null when it was the last.
    /// <paramref name="retryAfter"/> (from the response) is a floor.
    /// </summary>
    public TimeSpan? Next(int attempt, TimeSpan? retryAfter)
    {
        if (attempt < 1 || attempt > Delays.Count)
        {
            return null;
        }

        var delay = Delays[attempt - 1];
        var spread = delay.TotalMilliseconds * jitter * ((_random() * 2) - 1);
        var wait = delay + TimeSpan.FromMilliseconds(spread);
        if (retryAfter is { } floor && floor > wait)
        {
            wait = floor > MaxRetryAfter ? MaxRetryAfter : floor;
        }

        return wait;
    }

    /// <summary>Reads a <c>Retry-After</c> header (seconds, or an HTTP date) as a wait from <paramref name="now"/>.</summary>
    public static TimeSpan? ParseRetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>Reads a raw <c>Retry-After</c> value.</summary>
    public static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, (long)MaxRetryAfter.TotalSeconds));
        }

        return RetryConditionHeaderValue.TryParse(value, out var parsed) ? ParseRetryAfter(parsed, now) : null;
    }
}
