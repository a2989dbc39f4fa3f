using EventBus.Core.Store;

namespace EventBus.Core.Events;

/// <summary>Which events a follower is handed: an exact channel (null: all), a token's view of DMs, and a last check.</summary>
/// <param name="Channel">Only this channel (the store filters on it when it reads); null: every channel.</param>
/// <param name="VisibleToToken">Leave out direct messages this token may not see (see <see cref="EventQuery.VisibleToToken"/>).</param>
/// <param name="Accept">A further check per event (visibility, channel patterns, loop prevention); null: all pass.</param>
public sealed record FollowFilter(
    string? Channel = null,
    string? VisibleToToken = null,
    Func<BusEvent, CancellationToken, ValueTask<bool>>? Accept = null);

/// <summary>
/// "Read from the position, then wait on <see cref="CommitSignal"/>": the one loop every follower of the log runs (the
/// SSE stream, the WebSocket stream, the MQTT bridge and endpoint). The store is the truth: what was just committed is
/// read from <see cref="RecentEvents"/>, anything older from the store, so a missed wake-up loses nothing and nothing is
/// held in memory for a slow consumer; the consumer's own awaits are its back-pressure.
/// </summary>
public sealed class EventFollower(IEventStore store, RecentEvents recent, CommitSignal signal, TimeProvider time)
{
    private const int PageSize = 256;

    /// <summary>
    /// Hands <paramref name="deliver"/> every event after <paramref name="position"/> that passes
    /// <paramref name="filter"/>, in id order and in pages, then follows commits until cancelled. When nothing was
    /// delivered for <paramref name="idleInterval"/>, <paramref name="idle"/> runs (a keep-alive) if given.
    /// </summary>
    public Task FollowAsync(
        long position,
        FollowFilter filter,
        Func<IReadOnlyList<BusEvent>, CancellationToken, ValueTask> deliver,
        TimeSpan idleInterval,
        Func<CancellationToken, ValueTask>? idle,
        CancellationToken cancellationToken) =>
        RunAsync(position, filter, deliver, idleInterval, idle is null ? null : (_, ct) => idle(ct), cancellationToken);

    /// <summary>
    /// As <see cref="FollowAsync"/>, but the quiet-time callback is a heartbeat told the position read up to (events
    /// filtered out included), for a consumer whose keep-alive carries its cursor (the MCP Events draft's heartbeat).
    /// </summary>
    public Task FollowWithHeartbeatAsync(
        long position,
        FollowFilter filter,
        Func<IReadOnlyList<BusEvent>, CancellationToken, ValueTask> deliver,
        TimeSpan heartbeatInterval,
        Func<long, CancellationToken, ValueTask> heartbeat,
        CancellationToken cancellationToken) =>
        RunAsync(position, filter, deliver, heartbeatInterval, heartbeat, cancellationToken);

    private async Task RunAsync(
        long position,
        FollowFilter filter,
        Func<IReadOnlyList<BusEvent>, CancellationToken, ValueTask> deliver,
        TimeSpan idleInterval,
        Func<long, CancellationToken, ValueTask>? idle,
        CancellationToken cancellationToken)
    {
        var lastDelivery = time.GetTimestamp();
        while (true)
        {
            var page = await ReadAsync(position, filter, cancellationToken);
            if (page.Events.Count > 0)
            {
                await deliver(page.Events, cancellationToken);
                lastDelivery = time.GetTimestamp();
            }

            position = page.Position;
            if (page.HasMore)
            {
                continue;
            }

            while (true)
            {
                var quietFor = time.GetElapsedTime(lastDelivery);
                if (idle is not null && quietFor >= idleInterval)
                {
                    await idle(position, cancellationToken);
                    lastDelivery = time.GetTimestamp();
                    continue;
                }

                var wait = idle is null ? idleInterval : idleInterval - quietFor;
                if (await signal.WaitForAsync(position, wait, time, cancellationToken))
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// One page after <paramref name="position"/>: the events that pass the filter, and the position that covers
    /// everything read (filtered-out events included), with whether more is already committed beyond it.
    /// </summary>
    public async Task<FollowPage> ReadAsync(long position, FollowFilter filter, CancellationToken cancellationToken)
    {
        // The window holds every event after the position (all channels): filter here. Else the store, filtered.
        var page = recent.TryRead(position, PageSize) ?? await store.ReadEventsAsync(
            new EventQuery(position, PageSize, filter.Channel) { VisibleToToken = filter.VisibleToToken }, cancellationToken);
        var events = new List<BusEvent>(page.Events.Count);
        foreach (var e in page.Events)
        {
            if ((filter.Channel is null || e.Channel == filter.Channel) &&
                (filter.Accept is null || await filter.Accept(e, cancellationToken)))
            {
                events.Add(e);
            }
        }

        // Without more pages, everything up to the tip has been read (or filtered out by the store).
        var next = page.HasMore ? page.Events[^1].Id : Math.Max(position, page.Tip);
        return new FollowPage(events, next, page.HasMore);
    }
}

/// <summary>A page for a follower: the events it wants, the position it reached, and whether more waits beyond.</summary>
public sealed record FollowPage(IReadOnlyList<BusEvent> Events, long Position, bool HasMore);
