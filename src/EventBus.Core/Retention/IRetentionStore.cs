namespace EventBus.Core.Retention;

/// <summary>
/// What retention needs from a store, apart from <see cref="Store.IEventStore"/>: delete old events in small batches,
/// remember how far deletion has gone, measure what is kept, and give freed space back. A store that cannot do this
/// simply does not register it; the server then refuses to start only when retention is configured.
/// </summary>
/// <remarks>
/// The contract, in SQL terms (the SQLite store implements it in <c>SqliteRetentionStore</c>; a PostgreSQL store would
/// do the same with one <c>DELETE … WHERE id IN (SELECT … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED) RETURNING id</c>):
/// <list type="bullet">
/// <item>An event is <b>kept</b> whatever the rules say while (a) it is the newest event (ids must never be reused:
/// deleting the top row would let the next insert take its id), (b) a webhook delivery of it is still pending or
/// is a dead letter (<c>webhook_deliveries.status IN (0, 2)</c>: <c>redeliver</c> must be able to replay it; the delivery
/// log prunes dead letters after <c>EventBus:Webhooks:DeliveryRetention</c>, and then the event may go), or (c) it is a
/// direct message (<c>session:&lt;id&gt;</c>) to a live session whose saved cursor has not passed it (unread).</item>
/// <item><see cref="DeleteAsync"/> removes up to <c>limit</c> of the oldest (lowest id) events that match the
/// selection and are not kept, with their per-event rows (the trace), in one short transaction, and in the same
/// transaction raises the persisted low-water mark to the highest id it deleted and adds to the deleted count.</item>
/// <item>The low-water mark (<see cref="RetentionMark.DeletedThrough"/>) never goes down, and is 0 on a store that never
/// deleted anything. It is what tells a reader its cursor points into deleted history.</item>
/// <item>Every method is short; none holds the writer (or a table lock) for longer than one batch.</item>
/// </list>
/// </remarks>
public interface IRetentionStore
{
    /// <summary>The persisted low-water mark and the count of events deleted so far.</summary>
    Task<RetentionMark> GetMarkAsync(CancellationToken cancellationToken);

    /// <summary>
    /// What is kept, per channel (events, payload bytes, oldest event), and the space the store uses and holds free.
    /// Reads everything once: call it once per retention pass, not per request.
    /// </summary>
    Task<StoreUsage> GetUsageAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes at most <paramref name="limit"/> of the oldest events matching <paramref name="selection"/> that are not
    /// kept (see the remarks), and returns how many it deleted and the mark after it.
    /// </summary>
    Task<RetentionBatch> DeleteAsync(RetentionSelection selection, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Gives back to the file system at most <paramref name="maxBytes"/> of the space deleted rows left free, without
    /// blocking readers (SQLite: <c>PRAGMA incremental_vacuum</c>; PostgreSQL: nothing to do, autovacuum reuses it).
    /// Returns the bytes given back; 0 when nothing (more) can be.
    /// </summary>
    Task<long> ReclaimAsync(long maxBytes, CancellationToken cancellationToken);
}

/// <summary>Which events a batch may delete.</summary>
/// <param name="Channels">Only events on these exact channels; null: any channel (a cap deletes the oldest overall).</param>
/// <param name="OlderThan">Only events stamped before this; null: any age.</param>
public sealed record RetentionSelection(IReadOnlyList<string>? Channels, DateTimeOffset? OlderThan);

/// <summary>What a batch deleted and the mark after it.</summary>
public sealed record RetentionBatch(int Deleted, RetentionMark Mark);

/// <summary>How far deletion has gone: every event at or below <see cref="DeletedThrough"/> may be gone.</summary>
/// <param name="DeletedThrough">The highest id ever deleted (0: nothing ever was).</param>
/// <param name="DeletedTotal">Events deleted by retention since the store was created.</param>
public sealed record RetentionMark(long DeletedThrough, long DeletedTotal);

/// <summary>What the store holds.</summary>
/// <param name="Channels">Per channel: kept events and their size.</param>
/// <param name="UsedBytes">The space the data takes (SQLite: pages in use, not the free ones).</param>
/// <param name="FreeBytes">Space the store holds free for reuse (SQLite: free pages) — what reclaiming gives back.</param>
public sealed record StoreUsage(IReadOnlyList<ChannelUsage> Channels, long UsedBytes, long FreeBytes);

/// <summary>One channel's kept events.</summary>
/// <param name="Bytes">Payload, title and tags, in bytes (an estimate of the event's share of the store).</param>
public sealed record ChannelUsage(string Channel, long Events, long Bytes, long OldestId, DateTimeOffset OldestAt);
