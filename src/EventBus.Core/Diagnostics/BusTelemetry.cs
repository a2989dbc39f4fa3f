using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventBus.Core.Diagnostics;

/// <summary>
/// The bus's metrics and traces: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named
/// <see cref="Name"/>. Instruments follow OpenTelemetry's conventions (seconds for durations, <c>{event}</c>-style
/// units). Channel names are unbounded, so metrics carry only a channel's prefix, and only the first
/// <see cref="MaxPrefixes"/> prefixes seen; later ones count as <c>other</c>. Hosts export them (see the server's
/// Metrics folder); with no listener they cost next to nothing.
/// </summary>
public static class BusTelemetry
{
    /// <summary>The meter's and the activity source's name.</summary>
    public const string Name = "EventBus";

    /// <summary>How many distinct channel prefixes get their own time series.</summary>
    public const int MaxPrefixes = 32;

    private static readonly double[] SecondsBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly ConcurrentDictionary<string, string> Prefixes = new(StringComparer.Ordinal);

    /// <summary>The meter every bus instrument lives on.</summary>
    public static readonly Meter Meter = new(Name, typeof(BusTelemetry).Assembly.GetName().Version?.ToString(3));

    /// <summary>Spans: a publish (tool, REST, ingest) through its commit; each webhook attempt.</summary>
    public static readonly ActivitySource Source = new(Name, typeof(BusTelemetry).Assembly.GetName().Version?.ToString(3));

    /// <summary>Events committed, by <c>channel.prefix</c> and <c>origin</c> (publish, batch, ingest).</summary>
    public static readonly Counter<long> EventsPublished =
        Meter.CreateCounter<long>("eventbus.events.published", "{event}", "Events committed by publishes, by channel prefix and origin");

    /// <summary>From a publish request's validation to its commit, by <c>origin</c>.</summary>
    public static readonly Histogram<double> PublishDuration = Meter.CreateHistogram(
        "eventbus.publish.duration", "s", "Time from a publish's validation to its commit", advice: Seconds());

    /// <summary>Events per commit group (the single writer commits what is waiting in one transaction).</summary>
    public static readonly Histogram<long> CommitGroupSize = Meter.CreateHistogram(
        "eventbus.commit.group.size", "{event}", "Events committed in one transaction",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });

    /// <summary>Events pushed to MCP sessions (frames written and flushed).</summary>
    public static readonly Counter<long> PushDeliveries =
        Meter.CreateCounter<long>("eventbus.push.deliveries", "{event}", "Events pushed to running sessions (written and flushed)");

    /// <summary>From an event's publish to its push frame being flushed to a session's stream.</summary>
    public static readonly Histogram<double> PushLag = Meter.CreateHistogram(
        "eventbus.push.lag", "s", "Time from an event's publish to its push being flushed to a session", advice: Seconds());

    /// <summary>get_events calls waiting for an event (long-polls).</summary>
    public static readonly UpDownCounter<long> LongPollsWaiting =
        Meter.CreateUpDownCounter<long>("eventbus.longpolls.waiting", "{request}", "get_events calls waiting for an event");

    /// <summary>Webhook delivery attempts, by <c>outcome</c> (delivered, retry, failed, disabled).</summary>
    public static readonly Counter<long> WebhookAttempts =
        Meter.CreateCounter<long>("eventbus.webhook.attempts", "{attempt}", "Webhook delivery attempts, by outcome");

    /// <summary>Ingest requests, by <c>source</c> (the configured source name, or token) and <c>outcome</c>.</summary>
    public static readonly Counter<long> IngestRequests =
        Meter.CreateCounter<long>("eventbus.ingest.requests", "{request}", "Ingest requests, by source and outcome");

    /// <summary>Requests refused by a per-caller limit, by <c>limit</c> (publish, register, sessions, streams).</summary>
    public static readonly Counter<long> RateLimitRefusals =
        Meter.CreateCounter<long>("eventbus.limit.refusals", "{request}", "Requests refused by a per-caller limit");

    /// <summary>Requests refused for a missing, unknown or insufficient token, by <c>reason</c>.</summary>
    public static readonly Counter<long> AuthFailures =
        Meter.CreateCounter<long>("eventbus.auth.failures", "{request}", "Requests refused for their token, by reason");

    /// <summary>
    /// The part of a channel name before its first <c>:</c> (<c>repo:gizmo</c> → <c>repo</c>; <c>all</c> → <c>all</c>),
    /// for tags: the first <see cref="MaxPrefixes"/> distinct prefixes, then <c>other</c>.
    /// </summary>
    public static string ChannelPrefix(string channel)
    {
        var colon = channel.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon < 0 ? channel : channel[..colon];
        if (Prefixes.TryGetValue(prefix, out var known))
        {
            return known;
        }

        if (Prefixes.Count >= MaxPrefixes || prefix.Length > 32)
        {
            return "other";
        }

        return Prefixes.GetOrAdd(prefix, prefix);
    }

    /// <summary>Counts a committed publish of <paramref name="events"/> and how long it took.</summary>
    public static void Published(string origin, string channel, int events, TimeSpan elapsed)
    {
        var prefix = new KeyValuePair<string, object?>("channel.prefix", ChannelPrefix(channel));
        var from = new KeyValuePair<string, object?>("origin", origin);
        EventsPublished.Add(events, prefix, from);
        PublishDuration.Record(elapsed.TotalSeconds, from);
    }

    private static InstrumentAdvice<double> Seconds() => new() { HistogramBucketBoundaries = SecondsBuckets };
}
