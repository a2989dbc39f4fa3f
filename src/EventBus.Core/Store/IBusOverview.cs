using EventBus.Core.Sessions;

namespace EventBus.Core.Store;

/// <summary>
/// Read-only summaries of the bus for people watching it (the dashboard and the <c>/api/v1</c> endpoints behind it):
/// what ended recently, how far behind a reader is, which channels are busy. Each answer is bounded, so it stays
/// cheap on a large log.
/// </summary>
public interface IBusOverview
{
    /// <summary>Sessions unregistered or expired at or after <paramref name="since"/>, most recently ended first.</summary>
    Task<IReadOnlyList<Session>> ListEndedSessionsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);

    /// <summary>How many events there are after <paramref name="after"/>, counting at most <paramref name="cap"/>.</summary>
    Task<int> CountEventsAfterAsync(long after, int cap, CancellationToken cancellationToken);

    /// <summary>
    /// Events per channel at or after <paramref name="since"/>, among the newest <paramref name="window"/> events
    /// (so a firehose costs a bounded scan; counts are then a lower bound).
    /// </summary>
    Task<IReadOnlyList<ChannelActivity>> CountRecentByChannelAsync(DateTimeOffset since, int window, CancellationToken cancellationToken);
}

/// <summary>How many events a channel had in a period, and when the last one was.</summary>
public sealed record ChannelActivity(string Channel, int Events, DateTimeOffset LastEventAt);
