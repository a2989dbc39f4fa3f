using EventBus.Core.Events;
using EventBus.Core.Store;

namespace EventBus.Server.Mcp.Events;

/// <summary>What a poll returns: the occurrences, the cursor after them, and whether more is already waiting.</summary>
internal sealed record PollBatch(IReadOnlyList<BusEvent> Events, long Cursor, bool HasMore);

/// <summary>
/// Reading a subscription from a bus cursor, for poll and push alike: where replay starts once <c>maxAgeMs</c> is
/// applied (and whether that skipped events: <c>truncated</c>), and one bounded poll batch. Reads go through
/// <see cref="EventFollower.ReadAsync"/>, so the recent window serves fresh reads and the store the rest.
/// </summary>
internal sealed class EventReplay(EventFollower follower, IEventStore store, TimeProvider time)
{
    /// <summary>Pages a single request may scan (matching or not) before it answers with what it has.</summary>
    public const int MaxScanPages = 16;

    public Task<long> TipAsync(CancellationToken cancellationToken) => store.GetTipAsync(cancellationToken);

    /// <summary>
    /// The position delivery starts after: <paramref name="cursor"/>, moved past the events (of this subscription) older
    /// than <c>now − maxAge</c>; <c>Truncated</c> when any was skipped. The draft lets a server that would have to
    /// scan too far reset to now with <c>truncated: true</c> instead: this does so after <see cref="MaxScanPages"/>.
    /// This is the draft's own floor, separate from the store's retention (a cursor older than what is kept).
    /// </summary>
    public async Task<(long Start, bool Truncated)> StartAsync(
        long cursor, TimeSpan? maxAge, FollowFilter filter, CancellationToken cancellationToken)
    {
        if (maxAge is not { } age)
        {
            return (cursor, false);
        }

        var floor = time.GetUtcNow() - age;
        var position = cursor;
        var truncated = false;
        for (var pages = 0; pages < MaxScanPages; pages++)
        {
            var page = await follower.ReadAsync(position, filter, cancellationToken);
            foreach (var e in page.Events)
            {
                if (e.Timestamp >= floor)
                {
                    return (position, truncated);
                }

                truncated = true;
                position = e.Id;
            }

            position = page.Position;
            if (!page.HasMore)
            {
                return (position, truncated);
            }
        }

        return (await store.GetTipAsync(cancellationToken), true);
    }

    /// <summary>Up to <paramref name="maxEvents"/> events after <paramref name="position"/>, in id order.</summary>
    public async Task<PollBatch> PollAsync(long position, FollowFilter filter, int maxEvents, CancellationToken cancellationToken)
    {
        var events = new List<BusEvent>();
        for (var pages = 0; pages < MaxScanPages; pages++)
        {
            var page = await follower.ReadAsync(position, filter, cancellationToken);
            foreach (var e in page.Events)
            {
                if (events.Count == maxEvents)
                {
                    return new PollBatch(events, events[^1].Id, true);
                }

                events.Add(e);
            }

            position = page.Position;
            if (!page.HasMore)
            {
                return new PollBatch(events, position, false);
            }
        }

        return new PollBatch(events, position, true);
    }
}
