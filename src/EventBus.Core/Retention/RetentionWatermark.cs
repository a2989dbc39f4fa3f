namespace EventBus.Core.Retention;

/// <summary>
/// The store's retention low-water mark as the domain sees it: every event at or below <see cref="DeletedThrough"/> may
/// have been deleted. A read after a cursor below it is flagged truncated (see <see cref="Bus.BusService.GetEventsAsync"/>).
/// The retention service loads it at start and raises it after each batch; it never goes down.
/// </summary>
public sealed class RetentionWatermark
{
    private long _deletedThrough;

    /// <summary>The highest deleted id (0: nothing was ever deleted).</summary>
    public long DeletedThrough => Interlocked.Read(ref _deletedThrough);

    /// <summary>Raises the mark to <paramref name="deletedThrough"/> (a lower value is ignored).</summary>
    public void Advance(long deletedThrough) => Events.AtomicMax.Raise(ref _deletedThrough, deletedThrough);

    /// <summary>Whether reading after <paramref name="cursor"/> would miss deleted events.</summary>
    public bool Truncates(long cursor) => cursor < DeletedThrough;
}
