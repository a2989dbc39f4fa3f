using EventBus.Core.Events;
using EventBus.Core.Sessions;

namespace EventBus.Core.Store;

/// <summary>
/// The durable log and session table. Every write method returns only after its transaction has committed.
/// Implementations: EventBus.Sqlite (embedded default); the interface keeps SQL out of the domain.
/// </summary>
public interface IEventStore
{
    /// <summary>Opens the store and applies pending migrations.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>What /health reports about the store.</summary>
    Task<StoreState> GetStateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends one event and, when <paramref name="publisherSessionId"/> names a live session, refreshes its
    /// heartbeat in the same transaction. Returns the stored event and the publisher's row as it was found.
    /// </summary>
    Task<PublishOutcome> PublishAsync(NewEvent newEvent, string? publisherSessionId, CancellationToken cancellationToken);

    /// <summary>Appends several events in one transaction, in order.</summary>
    Task<IReadOnlyList<BusEvent>> AppendAsync(IReadOnlyList<NewEvent> newEvents, CancellationToken cancellationToken);

    /// <summary>
    /// Stores an ingested event unless <paramref name="idempotencyKey"/> was seen (and has not expired): then the
    /// event stored the first time is returned, flagged as a duplicate. Check and insert are one transaction.
    /// </summary>
    Task<IngestOutcome> IngestAsync(
        NewEvent newEvent, string? idempotencyKey, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Registers a new session or resumes the one with the same (machine, client id).</summary>
    Task<RegisterOutcome> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken);

    /// <summary>Marks a live session deleted and appends its farewell event; null if it was not live.</summary>
    Task<BusEvent?> UnregisterAsync(string sessionId, DateTimeOffset now, NewEvent farewell, CancellationToken cancellationToken);

    /// <summary>Marks sessions silent since <paramref name="cutoff"/> deleted, appending one event per session.</summary>
    Task<IReadOnlyList<Session>> ExpireSessionsAsync(
        DateTimeOffset cutoff, DateTimeOffset now, Func<Session, NewEvent> farewell, CancellationToken cancellationToken);

    /// <summary>Moves a live session's saved cursor forward (never back) and refreshes its heartbeat.</summary>
    Task AdvanceCursorAsync(string sessionId, long cursor, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Refreshes a live session's heartbeat.</summary>
    Task TouchAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Sets a session's saved cursor under the ack rules, atomically.</summary>
    Task<AckOutcome> AckAsync(string sessionId, long cursor, bool allowRewind, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Adds a subscription, or changes the level of an existing one for the same pattern.</summary>
    Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken);

    /// <summary>Removes a subscription; false if there was none.</summary>
    Task<bool> UnsubscribeAsync(string sessionId, string pattern, CancellationToken cancellationToken);

    /// <summary>
    /// Changes (after the commit) whenever this store adds, changes or removes a subscription, so a reader may keep
    /// subscriptions in memory and reload them only when it changed.
    /// </summary>
    long SubscriptionsVersion { get; }

    /// <summary>A session's explicit subscriptions, by pattern.</summary>
    Task<IReadOnlyList<Subscription>> ListSubscriptionsAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Moves a session's push cursor forward (never back).</summary>
    Task AdvancePushCursorAsync(string sessionId, long cursor, CancellationToken cancellationToken);

    /// <summary>A session by id, live or deleted.</summary>
    Task<Session?> GetSessionAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Sessions with this client id (on <paramref name="machine"/> when given), live first.</summary>
    Task<IReadOnlyList<Session>> FindByClientIdAsync(string clientId, string? machine, CancellationToken cancellationToken);

    /// <summary>Live sessions, most recent heartbeat first.</summary>
    Task<IReadOnlyList<Session>> ListLiveSessionsAsync(CancellationToken cancellationToken);

    /// <summary>The number of live sessions.</summary>
    Task<int> CountLiveSessionsAsync(CancellationToken cancellationToken);

    /// <summary>The highest committed event id (0 when empty).</summary>
    Task<long> GetTipAsync(CancellationToken cancellationToken);

    /// <summary>Reads a page of events; see <see cref="EventQuery"/>.</summary>
    Task<EventPage> ReadEventsAsync(EventQuery query, CancellationToken cancellationToken);
}

/// <summary>The store's health. <see cref="Writable"/> is false while a <see cref="Fault"/> stops writes.</summary>
public sealed record StoreState(string Kind, string Location, int SchemaVersion, long Tip, int LiveSessions, bool Writable)
{
    /// <summary>Why writes fail now (the last write's fault, until a write or a probe succeeds); null when healthy.</summary>
    public StoreUnavailableException? Fault { get; init; }

    /// <summary>The database's size on disk in bytes, where the store can tell.</summary>
    public long? SizeBytes { get; init; }

    /// <summary>The write-ahead log's size in bytes (SQLite's WAL file), where there is one.</summary>
    public long? LogBytes { get; init; }
}

/// <summary>An ingested event, or the one stored earlier under the same idempotency key.</summary>
public sealed record IngestOutcome(BusEvent Event, bool Duplicate);

/// <summary>A stored event plus the publisher's session row (null when the id is unknown or absent).</summary>
public sealed record PublishOutcome(BusEvent Event, Session? Publisher);

/// <summary>What <see cref="IEventStore.RegisterAsync"/> needs; the domain builds it.</summary>
/// <param name="NewSessionId">The id a new session gets (ignored on resume).</param>
/// <param name="NextDisplayId">Makes display-id candidates; the store retries until one is unused.</param>
/// <param name="Registration">The <c>session_registered</c> event for a new session (its SessionId is NewSessionId).</param>
public sealed record RegisterRequest(
    string Name,
    string Machine,
    string Cwd,
    string Repo,
    string? ClientId,
    DateTimeOffset Now,
    string NewSessionId,
    Func<string> NextDisplayId,
    NewEvent Registration)
{
    /// <summary>The token registering (null when auth is off): a new session belongs to it; an unowned one is claimed.</summary>
    public string? OwnerTokenId { get; init; }

    /// <summary>
    /// Whether a session owned by another token may be resumed (an admin). When false and the (machine, client_id) is
    /// another token's session, nothing is written and the outcome says <see cref="RegisterOutcome.OwnedByAnother"/>.
    /// </summary>
    public bool MayResumeAnyOwner { get; init; } = true;
}

/// <summary>The session after registering, whether it was resumed, and the cursor to hand back.</summary>
public sealed record RegisterOutcome(Session Session, bool Resumed, long Cursor, int ActiveSessions)
{
    /// <summary>The identity is another token's session, which this request may not resume: nothing was written.</summary>
    public bool OwnedByAnother { get; init; }
}

/// <summary>How an ack ended.</summary>
public enum AckStatus
{
    /// <summary>Saved.</summary>
    Saved,

    /// <summary>No such session.</summary>
    NotFound,

    /// <summary>The session is deleted.</summary>
    Deleted,

    /// <summary>The cursor is beyond the newest event.</summary>
    AheadOfTip,

    /// <summary>The cursor is behind the saved one and rewinding was not allowed.</summary>
    Rewind,
}

/// <summary>An ack's result: the status, the session, the cursor before, and the tip seen.</summary>
public sealed record AckOutcome(AckStatus Status, Session? Session, long? PreviousCursor, long Tip);

/// <summary>Which events to read.</summary>
/// <param name="After">Read events with id greater than this, oldest first. Null: read the newest (tail) window.</param>
/// <param name="Limit">At most this many events.</param>
public sealed record EventQuery(
    long? After,
    int Limit,
    string? Channel = null,
    IReadOnlyList<string>? EventTypes = null,
    string? CorrelationId = null,
    SignalLevel? MinLevel = null)
{
    /// <summary>
    /// When set (auth on, a caller that is not admin): direct messages (<c>session:&lt;id&gt;</c>) are left out unless
    /// this token owns the recipient session or the sending one. Broadcast channels are unaffected.
    /// </summary>
    public string? VisibleToToken { get; init; }

    /// <summary>When set: only events published as this session.</summary>
    public string? From { get; init; }
}

/// <summary>
/// A page of events in ascending id order. <see cref="HasMore"/>: more matching events exist beyond the page
/// (newer for a cursor read, older for a tail read). <see cref="Tip"/>: the newest id when the read began; the page
/// covers everything up to it.
/// </summary>
public sealed record EventPage(IReadOnlyList<BusEvent> Events, bool HasMore, long Tip);
