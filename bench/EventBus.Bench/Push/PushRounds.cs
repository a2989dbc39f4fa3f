using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EventBus.Bench.Clients;

namespace EventBus.Bench.Push;

/// <summary>
/// One push-latency round and its pieces, shared by the push bench (one node, next to Redis Streams) and the nodes bench
/// (the same round with the subscribers on a second node over the same PostgreSQL database).
/// </summary>
internal static class PushRounds
{
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// One round at one size: <paramref name="size"/> sessions subscribed to a channel with their GET streams open; the
    /// publisher publishes <paramref name="events"/> events (after <paramref name="warmupEvents"/> unmeasured) one at a time, each after every subscriber
    /// received the previous one. Latency: from just before the publish request to each subscriber's handler. The
    /// subscribers connect to <paramref name="listenerMcp"/>: the publisher's node, or another node on the same database.
    /// </summary>
    public static async Task<LatencySample> EventBusLatencyAsync(
        McpSession publisher, Uri listenerMcp, HttpClient streams, int size, int events, int warmupEvents, string payload,
        CancellationToken cancellationToken)
    {
        var channel = $"bench:push-{Guid.NewGuid():N}";
        var listeners = await OpenListenersAsync(listenerMcp, streams, "bench-sub", size, channel, "actionable", cancellationToken);
        try
        {
            var args = JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["event_type"] = "bench",
                ["payload"] = payload,
                ["channel"] = channel,
                ["signal_level"] = "actionable",
            });
            var sent = new List<(long Key, long At)>(events);
            var replies = new List<double>(events);
            for (var k = -warmupEvents; k < events; k++)
            {
                var t0 = Stopwatch.GetTimestamp();
                var published = await publisher.CallToolJsonAsync("publish_event", args, cancellationToken);
                var t1 = Stopwatch.GetTimestamp();
                var id = published.GetProperty("event_id").GetInt64();
                await AllReachedAsync(listeners.Select(l => l.Arrivals), id, () => Failures(listeners), cancellationToken);
                if (k >= 0)
                {
                    sent.Add((id, t0));
                    replies.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
                }
            }

            return Latencies(sent, listeners.Select(l => l.Arrivals).ToList()) with { ReplyP50Ms = Report.Median(replies) };
        }
        finally
        {
            await Task.WhenAll(listeners.Select(l => l.DisposeAsync().AsTask()));
        }
    }

    public static async Task<List<ChannelListener>> OpenListenersAsync(
        Uri mcp, HttpClient streams, string name, int count, string channel, string minLevel, CancellationToken cancellationToken)
    {
        var listeners = new ChannelListener[count];
        var next = -1;
        var workers = Enumerable.Range(0, Math.Min(count, 16)).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                listeners[i] = await ChannelListener.OpenAsync(mcp, streams, $"{name}-{i}", channel, minLevel, cancellationToken);
            }
        }, cancellationToken));
        try
        {
            await Task.WhenAll(workers);
        }
        catch
        {
            await Task.WhenAll(listeners.Where(l => l is not null).Select(l => l.DisposeAsync().AsTask()));
            throw;
        }

        return [.. listeners];
    }

    public static async Task AllReachedAsync(
        IEnumerable<Arrivals> subscribers, long key, Func<IEnumerable<string?>> failures, CancellationToken cancellationToken)
    {
        var all = Task.WhenAll(subscribers.Select(a => a.ReachedAsync(key)));
        try
        {
            await all.WaitAsync(ArrivalTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            var failure = failures().FirstOrDefault(f => f is not null);
            throw new BenchException($"message {key} did not reach every subscriber within {ArrivalTimeout.TotalSeconds:F0} s{(failure is null ? "" : $" ({failure})")}.");
        }
    }

    public static IEnumerable<string?> Failures(IEnumerable<ChannelListener> listeners) => listeners.Select(l => l.Failure);

    public static LatencySample Latencies(List<(long Key, long At)> sent, List<Arrivals> subscribers)
    {
        var all = new List<double>(sent.Count * subscribers.Count);
        foreach (var arrivals in subscribers)
        {
            foreach (var (key, at) in sent)
            {
                if (arrivals.TryGet(key, out var arrived))
                {
                    all.Add((arrived - at) * 1000.0 / Stopwatch.Frequency);
                }
            }
        }

        all.Sort();
        return new LatencySample(all.Count, Percentile(all, 0.50), Percentile(all, 0.99), all.Count == 0 ? 0 : all[^1]);
    }

    public static LatencySummary Summarize(List<LatencySample> rounds) => new(
        Report.Median(rounds.Select(r => r.P50Ms).ToList()), Report.Median(rounds.Select(r => r.P99Ms).ToList()), rounds.Max(r => r.MaxMs),
        Report.Median(rounds.Select(r => r.ReplyP50Ms).ToList()));

    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];


    /// <summary>A client for GET streams: one connection per open stream, no overall timeout.</summary>
    public static HttpClient StreamClient() => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = int.MaxValue,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };
}
