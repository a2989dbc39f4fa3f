using System.Text;
using EventBus.Core.Channels;
using EventBus.Core.Diagnostics;
using EventBus.Core.Events;
using EventBus.Core.Retention;
using EventBus.Core.Security;
using EventBus.Core.Sessions;
using EventBus.Core.Store;

namespace EventBus.Core.Bus;

/// <summary>
/// The agent-event-bus contract: each method is one tool. Methods return a reply record, or a <see cref="BusError"/>
/// for a refusal the caller should read (session not found, deleted); they throw
/// <see cref="BusValidationException"/> for malformed input. Nothing is written when input is refused.
/// </summary>
public sealed class BusService(
    IEventStore store, IDesktopNotifier notifier, BusOptions options, TimeProvider time, CommitSignal? signal = null,
    RetentionWatermark? retention = null)
{
    private const string Anonymous = "anonymous";
    private int _longPolls;

    /// <summary>Answers to permission requests: only the server's permission service stores these (who may answer is checked there).</summary>
    public const string ReservedAnswerType = "permission_response";

    // Reads refresh the heartbeat at most this often: expiry is measured in hours, so a write per poll buys nothing.
    private static readonly TimeSpan HeartbeatResolution = TimeSpan.FromSeconds(1);
    private const string DeletedHint =
        "This session was unregistered or expired. Call register_session again (the same machine and client_id resumes it).";

    /// <summary>The options in force.</summary>
    public BusOptions Options => options;

    /// <summary>
    /// <c>register_session</c>: a new session, or the one with the same (machine, client_id) resumed. The identity is made
    /// canonical first (<see cref="SessionIdentity"/>); resuming a session another token owns is refused in the same
    /// transaction that would resume it.
    /// </summary>
    public async Task<RegisterReply> RegisterSessionAsync(
        string name, string? machine, string? cwd, string? clientId, Actor actor, CancellationToken cancellationToken)
    {
        Validate.Name(name, "name");
        var identity = SessionIdentity.From(machine, clientId, " (omit it to register a new session each time)");
        cwd ??= "";
        Validate.Line(cwd, BusOptions.MaxCwdLength, "cwd");

        var now = Now();
        var newId = Guid.NewGuid().ToString();
        var registration = new NewEvent(
            "session_registered", $"{name} started on {identity.Machine} in {cwd}", newId, now, ChannelName.All, null,
            SignalLevel.Lifecycle, null, null);
        var request = new RegisterRequest(
            name, identity.Machine, cwd, RepoName.FromCwd(cwd), identity.ClientId, now, newId, () => DisplayIds.Next(Random.Shared),
            registration)
        {
            OwnerTokenId = actor.TokenId,
            MayResumeAnyOwner = actor.IsAdmin,
        };

        var outcome = await store.RegisterAsync(request, cancellationToken);
        if (outcome.OwnedByAnother)
        {
            throw new BusValidationException(
                $"Forbidden: client_id \"{identity.ClientId}\" on machine \"{identity.Machine}\" is a session of another token.");
        }

        var s = outcome.Session;
        var cursor = Cursor.Format(outcome.Cursor);
        var tip = outcome.Resumed
            ? $"You are '{s.Name}' ({s.DisplayId}), resumed. Your saved cursor is {cursor}: call get_events(session_id=\"{s.SessionId}\", resume=true) to read what you missed."
            : $"You are '{s.Name}' ({s.DisplayId}). Call get_events(session_id=\"{s.SessionId}\", resume=true) to read new events; direct messages to you go to channel \"session:{s.SessionId}\".";
        return new RegisterReply(
            s.SessionId, s.DisplayId, s.Name, s.Machine, s.Cwd, s.Repo, outcome.ActiveSessions, cursor, outcome.Resumed, tip);
    }

    /// <summary><c>list_sessions</c>: live sessions, most recent heartbeat first.</summary>
    /// A session's <c>client_id</c> is shown only to a caller that may act as it: with it and the machine, anyone could
    /// try to resume or end the session, so another token's is null.
    public async Task<IReadOnlyList<SessionReply>> ListSessionsAsync(Actor actor, CancellationToken cancellationToken)
    {
        var now = Now();
        var sessions = await store.ListLiveSessionsAsync(cancellationToken);
        return sessions.Select(s => new SessionReply(
                s.SessionId, s.DisplayId, s.Name, s.Machine, s.Repo, s.Cwd, actor.MayActAs(s) ? s.ClientId : null,
                Timestamps.ToWire(s.RegisteredAt), Timestamps.ToWire(s.LastHeartbeat),
                Math.Round((now - s.RegisteredAt).TotalSeconds, 3),
                ChannelName.ImpliedSubscriptions(s.SessionId, s.Repo, s.Machine)))
            .ToList();
    }

    /// <summary><c>list_channels</c>: every channel live sessions are implicitly subscribed to, with counts.</summary>
    public async Task<IReadOnlyList<ChannelReply>> ListChannelsAsync(CancellationToken cancellationToken)
    {
        var sessions = await store.ListLiveSessionsAsync(cancellationToken);
        return sessions
            .SelectMany(s => ChannelName.ImpliedSubscriptions(s.SessionId, s.Repo, s.Machine))
            .GroupBy(c => c, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ChannelReply(g.Key, g.Count()))
            .ToList();
    }

    /// <summary><c>publish_event</c>: stores the event (returning after commit) and refreshes the publisher's heartbeat.</summary>
    public async Task<PublishReply> PublishAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        using var activity = BusTelemetry.Source.StartActivity("eventbus.publish");
        var started = time.GetTimestamp();
        var newEvent = ToNewEvent(request);
        var outcome = await store.PublishAsync(newEvent, request.SessionId, cancellationToken);
        Committed(activity, "publish", outcome.Event.Channel, 1, started, outcome.Event.Id);
        var reply = ReplyFor(outcome.Event);
        if (outcome.Publisher is { DeletedAt: { } deletedAt } publisher)
        {
            reply = reply with
            {
                SessionDeleted = true,
                SessionId = publisher.SessionId,
                DisplayId = publisher.DisplayId,
                DeletedAt = Timestamps.ToWire(deletedAt),
                Hint = DeletedHint,
            };
        }

        return reply;
    }

    /// <summary>
    /// An ingested event (an alert, a CI result): validated as <c>publish_event</c> validates, and stored unless its
    /// idempotency key was seen before <paramref name="keyExpiresAt"/>: then the event stored the first time comes back,
    /// flagged as a duplicate.
    /// </summary>
    public async Task<IngestOutcome> IngestAsync(
        PublishRequest request, string? idempotencyKey, DateTimeOffset keyExpiresAt, CancellationToken cancellationToken)
    {
        using var activity = BusTelemetry.Source.StartActivity("eventbus.ingest");
        var started = time.GetTimestamp();
        var outcome = await store.IngestAsync(ToNewEvent(request), idempotencyKey, keyExpiresAt, cancellationToken);
        if (!outcome.Duplicate)
        {
            Committed(activity, "ingest", outcome.Event.Channel, 1, started, outcome.Event.Id);
        }

        return outcome;
    }

    /// <summary>
    /// Validates every publish of a batch before anything is stored: one bad item refuses the whole batch, and the
    /// refusal names it (<paramref name="itemName"/> of its index, e.g. "item 3" or "line 4").
    /// </summary>
    public PublishBatch PrepareBatch(IReadOnlyList<PublishRequest> requests, Func<int, string> itemName)
    {
        var events = new List<NewEvent>(requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            try
            {
                events.Add(ToNewEvent(requests[i]));
            }
            catch (BusValidationException ex)
            {
                throw new BusValidationException($"{itemName(i)}: {ex.Message}");
            }
        }

        return new PublishBatch(events);
    }

    /// <summary>Stores a prepared batch in one transaction (consecutive ids); each event answered as <c>publish_event</c> answers.</summary>
    public async Task<IReadOnlyList<PublishReply>> PublishBatchAsync(PublishBatch batch, CancellationToken cancellationToken)
    {
        using var activity = BusTelemetry.Source.StartActivity("eventbus.publish_batch");
        var started = time.GetTimestamp();
        var stored = await store.AppendAsync(batch.Events, cancellationToken);
        foreach (var channel in stored.GroupBy(e => e.Channel, StringComparer.Ordinal))
        {
            BusTelemetry.Published("batch", channel.Key, channel.Count(), time.GetElapsedTime(started));
        }

        if (stored.Count > 0)
        {
            activity?.SetTag("eventbus.event_id", stored[0].Id).SetTag("eventbus.events", stored.Count);
        }

        return stored.Select(ReplyFor).ToList();
    }

    private void Committed(System.Diagnostics.Activity? activity, string origin, string channel, int events, long started, long eventId)
    {
        BusTelemetry.Published(origin, channel, events, time.GetElapsedTime(started));
        activity?.SetTag("eventbus.event_id", eventId).SetTag("eventbus.channel", channel);
    }

    private static PublishReply ReplyFor(BusEvent e) =>
        new(e.Id, e.EventType, e.Payload, e.Channel, e.SignalLevel.ToWire()) { CorrelationId = e.CorrelationId };

    /// <summary>
    /// Validates a publish request and turns it into an event to store (a caller that batches, like the MQTT bridge,
    /// checks each item alone first). Storing goes through the publish methods above.
    /// </summary>
    public NewEvent ToNewEvent(PublishRequest request)
    {
        Validate.Name(request.EventType, "event_type");
        if (request.EventType == ReservedAnswerType)
        {
            throw new BusValidationException(
                $"event_type \"{ReservedAnswerType}\" is published only by the bus when a permission request is answered " +
                "(answer_permission, POST /api/v1/permissions/{request_id}, eventbus permission allow|deny).");
        }

        if (request.Payload is null)
        {
            throw new BusValidationException("payload must be given (a string; it may be empty).");
        }

        var payloadBytes = Encoding.UTF8.GetByteCount(request.Payload);
        if (payloadBytes > options.MaxPayloadBytes)
        {
            throw new BusValidationException(
                $"payload is {payloadBytes} bytes; the limit is {options.MaxPayloadBytes} bytes (EventBus:MaxPayloadBytes).");
        }

        var channel = request.Channel ?? ChannelName.All;
        Validate.Name(channel, "channel");
        if (request.SessionId is not null)
        {
            Validate.Name(request.SessionId, "session_id");
        }

        if (request.Title is not null)
        {
            Validate.MaxLength(request.Title, BusOptions.MaxTitleLength, "title");
        }

        if (request.CorrelationId is not null)
        {
            Validate.Name(request.CorrelationId, "correlation_id");
        }

        if (request.Tags is { } tags)
        {
            if (tags.Count > BusOptions.MaxTags)
            {
                throw new BusValidationException($"tags has {tags.Count} entries; the limit is {BusOptions.MaxTags}.");
            }

            foreach (var tag in tags)
            {
                Validate.Name(tag, "each tag");
            }
        }

        var level = Validate.OptionalLevel(request.SignalLevel, "signal_level");
        return new NewEvent(
            request.EventType, request.Payload, request.SessionId ?? Anonymous, Now(), channel, request.CorrelationId,
            SignalLevels.Resolve(level, channel, request.EventType), request.Title,
            request.Tags is { Count: > 0 } t ? t.ToArray() : null)
        {
            // The publish span (or the request's), when something records traces: kept with the event for deliveries.
            TraceParent = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C, Recorded: true } current
                ? current.Id
                : null,
        };
    }

    /// <summary>
    /// <c>get_events</c>. With a cursor (given, or the session's saved one on <c>resume</c>) it returns the oldest
    /// unseen matching events, up to <c>limit</c>, in the requested order. Without one it returns the newest window
    /// (<c>desc</c>) or the oldest events (<c>asc</c>). A consuming read (session id, not peek, not narrowed by
    /// channel, event types or correlation id) moves the session's cursor forward, never back.
    /// </summary>
    public async Task<BusResult<EventsReply>> GetEventsAsync(GetEventsRequest request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? 50;
        if (limit is < 1 or > BusOptions.MaxLimit)
        {
            throw new BusValidationException($"limit must be between 1 and {BusOptions.MaxLimit} (got {limit}).");
        }

        var descending = (request.Order ?? "desc") switch
        {
            "desc" => true,
            "asc" => false,
            var other => throw new BusValidationException($"order must be \"asc\" or \"desc\" (got \"{other}\")."),
        };
        long? cursor = null;
        if (request.Cursor is not null)
        {
            cursor = ParseCursor(request.Cursor, "cursor");
        }

        if (request.Channel is not null)
        {
            Validate.Name(request.Channel, "channel");
        }

        if (request.CorrelationId is not null)
        {
            Validate.Name(request.CorrelationId, "correlation_id");
        }

        if (request.EventTypes is { } types)
        {
            if (types.Count > BusOptions.MaxLimit)
            {
                throw new BusValidationException($"event_types has {types.Count} entries; the limit is {BusOptions.MaxLimit}.");
            }

            foreach (var type in types)
            {
                Validate.Name(type, "each event type");
            }
        }

        var minLevel = Validate.OptionalLevel(request.MinLevel, "min_level");
        var wait = request.WaitSeconds ?? 0;
        if (wait is < 0 or > BusOptions.MaxWaitSeconds)
        {
            throw new BusValidationException($"wait_seconds must be between 0 and {BusOptions.MaxWaitSeconds} (got {wait}).");
        }

        if (request.From is not null)
        {
            Validate.Name(request.From, "from");
        }

        var narrowed = request.Channel is not null || request.EventTypes is { Count: > 0 } || request.CorrelationId is not null ||
                       request.From is not null;

        Session? session = null;
        if (request.SessionId is not null)
        {
            Validate.Name(request.SessionId, "session_id");
            session = await store.GetSessionAsync(request.SessionId, cancellationToken);
            if (session is { DeletedAt: not null })
            {
                return DeletedError(session);
            }

            if (session is null && request.Resume && cursor is null)
            {
                return new BusError("Session not found") { Details = { ["session_id"] = request.SessionId } };
            }
        }

        // Fix 3: a consuming read (and any resume read) starts from the session's saved cursor, so it returns the
        // oldest unseen events and never skips backlog. Sessions registered by EventBus always have a saved cursor
        // (fix 1); one imported without it starts at the tip.
        var consuming = session is not null && !request.Peek && !narrowed;
        if (cursor is null && session is not null && (request.Resume || consuming))
        {
            cursor = session.Cursor ?? await store.GetTipAsync(cancellationToken);
        }

        var query = new EventQuery(
            cursor ?? (descending ? null : 0), limit, request.Channel,
            request.EventTypes is { Count: > 0 } ? request.EventTypes : null, request.CorrelationId, minLevel)
        {
            VisibleToToken = request.VisibleToToken,
            From = request.From,
        };
        var page = await store.ReadEventsAsync(query, cancellationToken);
        if (page.Events.Count == 0 && wait > 0 && signal is not null)
        {
            page = await LongPollAsync(query, page, TimeSpan.FromSeconds(wait), cancellationToken);
        }

        long nextCursor;
        if (query.After is { } after)
        {
            nextCursor = page.HasMore ? page.Events[^1].Id : Math.Max(after, page.Tip);
        }
        else
        {
            nextCursor = page.Tip;
        }

        if (session is not null)
        {
            var now = Now();
            if (consuming && nextCursor > (session.Cursor ?? -1))
            {
                await store.AdvanceCursorAsync(session.SessionId, nextCursor, now, cancellationToken);
            }
            else if (now - session.LastHeartbeat >= HeartbeatResolution)
            {
                await store.TouchAsync(session.SessionId, now, cancellationToken);
            }
        }

        IEnumerable<BusEvent> ordered = descending ? page.Events.Reverse() : page.Events;
        var reply = new EventsReply(ordered.Select(ToReply).ToList(), Cursor.Format(nextCursor), page.HasMore);
        return Truncation(query.After) is { } first ? reply with { Truncated = true, FirstAvailableCursor = first } : reply;
    }

    /// <summary>
    /// The first cursor from which nothing was deleted, when retention deleted events after <paramref name="cursor"/>
    /// (the read then returns what is left, flagged); null when the history after it is whole, or there is no cursor.
    /// </summary>
    public string? Truncation(long? cursor) =>
        cursor is { } after && retention is { } mark && mark.Truncates(after) ? Cursor.Format(mark.DeletedThrough) : null;

    /// <summary>
    /// Waits (without holding a thread) until a commit brings an event this query matches, or the time is up.
    /// Commits of events it does not match (another channel, a quieter level) just renew the wait.
    /// </summary>
    private async Task<EventPage> LongPollAsync(EventQuery query, EventPage page, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetTimestamp() + (long)(wait.TotalSeconds * time.TimestampFrequency);
        BusTelemetry.LongPollsWaiting.Add(1);
        Interlocked.Increment(ref _longPolls);
        LongPollsChanged.Notify();
        try
        {
            return await WaitForMatchAsync(query, page, deadline, cancellationToken);
        }
        finally
        {
            BusTelemetry.LongPollsWaiting.Add(-1);
            Interlocked.Decrement(ref _longPolls);
            LongPollsChanged.Notify();
        }
    }

    /// <summary>Long-polls waiting now, each with its deadline set (a clock moved past it ends the wait).</summary>
    public int LongPollsWaiting => Volatile.Read(ref _longPolls);

    /// <summary>Raised after a long-poll starts waiting and after one ends.</summary>
    public ChangeSignal LongPollsChanged { get; } = new();

    private async Task<EventPage> WaitForMatchAsync(EventQuery query, EventPage page, long deadline, CancellationToken cancellationToken)
    {
        while (page.Events.Count == 0)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);
            if (left <= TimeSpan.Zero || !await signal!.WaitForAsync(page.Tip, left, time, cancellationToken))
            {
                break;
            }

            page = await store.ReadEventsAsync(query, cancellationToken);
        }

        return page;
    }

    /// <summary><c>ack_events</c>: saves a session's cursor; refuses a bad one, one past the tip, or a rewind unless allowed.</summary>
    public async Task<BusResult<AckReply>> AckAsync(string sessionId, string cursorText, bool allowRewind, CancellationToken cancellationToken)
    {
        Validate.Name(sessionId, "session_id");
        var session = await store.GetSessionAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return NotFound(sessionId);
        }

        if (session.DeletedAt is not null)
        {
            return DeletedError(session);
        }

        var saved = session.Cursor is { } c ? Cursor.Format(c) : null;
        if (cursorText.StartsWith('-') && Cursor.TryParse(cursorText[1..], out _))
        {
            return AckRefusal($"Cursor must not be negative (got \"{cursorText}\").", sessionId, saved);
        }

        if (!Cursor.TryParse(cursorText, out var cursor))
        {
            return AckRefusal($"Cursor must be the decimal string of an event id, like \"42\" (got \"{cursorText}\").", sessionId, saved);
        }

        var outcome = await store.AckAsync(sessionId, cursor, allowRewind, Now(), cancellationToken);
        var previous = outcome.PreviousCursor is { } p ? Cursor.Format(p) : null;
        return outcome.Status switch
        {
            AckStatus.Saved => new AckReply(true, sessionId, Cursor.Format(cursor), previous),
            AckStatus.NotFound => NotFound(sessionId),
            AckStatus.Deleted => DeletedError(outcome.Session!),
            AckStatus.AheadOfTip => AckRefusal(
                $"Cursor {cursor} is ahead of the newest event ({outcome.Tip}).", sessionId, previous,
                ("tip", Cursor.Format(outcome.Tip))),
            AckStatus.Rewind => AckRefusal(
                $"Cursor {cursor} is behind the saved cursor {previous}; pass allow_rewind=true to move it back.", sessionId, previous),
            _ => throw new InvalidOperationException($"Unexpected ack status {outcome.Status}."),
        };
    }

    /// <summary>
    /// <c>unregister_session</c>, by session id or by client id (and machine when several match). Either way the session
    /// found must be one <paramref name="actor"/> may act as: by client id, only the caller's own sessions are candidates.
    /// </summary>
    public async Task<BusResult<UnregisterReply>> UnregisterAsync(
        string? sessionId, string? clientId, string? machine, Actor actor, CancellationToken cancellationToken)
    {
        Session? session;
        if (sessionId is not null)
        {
            Validate.Name(sessionId, "session_id");
            session = await store.GetSessionAsync(sessionId, cancellationToken);
            if (session is null)
            {
                return NotFound(sessionId);
            }
        }
        else if (clientId is not null)
        {
            var identity = SessionIdentity.From(machine, clientId);
            var lookupMachine = SessionIdentity.OptionalMachine(machine);
            var matches = await store.FindByClientIdAsync(identity.ClientId!, lookupMachine, cancellationToken);
            var mine = matches.Where(actor.MayActAs).ToList();
            if (mine.Count == 0 && matches.Count > 0)
            {
                var theirs = matches.FirstOrDefault(m => m.IsLive) ?? matches[0];
                throw new BusValidationException(actor.Refusal(theirs.SessionId));
            }

            var live = mine.Where(m => m.IsLive).ToList();
            if (live.Count > 1)
            {
                return new BusError("Several sessions have this client_id; pass machine or session_id")
                {
                    Details = { ["client_id"] = identity.ClientId, ["machines"] = live.Select(m => m.Machine).ToList() },
                };
            }

            session = live.Count == 1 ? live[0] : mine.FirstOrDefault();
            if (session is null)
            {
                var details = new Dictionary<string, object?> { ["client_id"] = identity.ClientId };
                if (lookupMachine is not null)
                {
                    details["machine"] = lookupMachine;
                }

                return new BusError("Session not found") { Details = details };
            }
        }
        else
        {
            return new BusError("Must provide either session_id or client_id");
        }

        if (!actor.MayActAs(session))
        {
            throw new BusValidationException(actor.Refusal(session.SessionId));
        }

        if (session.DeletedAt is not null)
        {
            return DeletedError(session);
        }

        var farewell = new NewEvent(
            "session_unregistered", $"{session.Name} ended on {session.Machine}", session.SessionId, Now(), ChannelName.All,
            null, SignalLevel.Lifecycle, null, null);
        var stored = await store.UnregisterAsync(session.SessionId, Now(), farewell, cancellationToken);
        if (stored is null)
        {
            var current = await store.GetSessionAsync(session.SessionId, cancellationToken);
            return current is null ? NotFound(session.SessionId) : DeletedError(current);
        }

        var active = await store.CountLiveSessionsAsync(cancellationToken);
        return new UnregisterReply(true, session.SessionId, session.DisplayId, active);
    }

    /// <summary><c>subscribe</c>: push events on channels matching <paramref name="pattern"/> at or above a level (default actionable).</summary>
    public async Task<BusResult<SubscriptionReply>> SubscribeAsync(string sessionId, string pattern, string? minLevel, CancellationToken cancellationToken)
    {
        Validate.Name(sessionId, "session_id");
        var parsed = ChannelPattern.Parse(pattern);
        var level = Validate.OptionalLevel(minLevel, "min_level") ?? SignalLevel.Actionable;
        var session = await store.GetSessionAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return NotFound(sessionId);
        }

        if (session.DeletedAt is not null)
        {
            return DeletedError(session);
        }

        await store.SubscribeAsync(new Subscription(sessionId, parsed.Text, level, Now()), cancellationToken);
        return new SubscriptionReply(true, sessionId, parsed.Text, level.ToWire());
    }

    /// <summary><c>unsubscribe</c>: stop pushing a pattern.</summary>
    public async Task<BusResult<UnsubscribeReply>> UnsubscribeAsync(string sessionId, string pattern, CancellationToken cancellationToken)
    {
        Validate.Name(sessionId, "session_id");
        Validate.Name(pattern, "channel");
        if (await store.GetSessionAsync(sessionId, cancellationToken) is null)
        {
            return NotFound(sessionId);
        }

        if (!await store.UnsubscribeAsync(sessionId, pattern, cancellationToken))
        {
            return new BusError("Not subscribed")
            {
                Details = { ["success"] = false, ["session_id"] = sessionId, ["channel"] = pattern },
            };
        }

        return new UnsubscribeReply(true, sessionId, pattern);
    }

    /// <summary><c>list_subscriptions</c>: the implicit direct channel first, then explicit patterns.</summary>
    public async Task<BusResult<SubscriptionsReply>> ListSubscriptionsAsync(string sessionId, CancellationToken cancellationToken)
    {
        Validate.Name(sessionId, "session_id");
        var session = await store.GetSessionAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return NotFound(sessionId);
        }

        var explicitOnes = await store.ListSubscriptionsAsync(sessionId, cancellationToken);
        var list = new List<SubscriptionEntry> { new(ChannelName.Direct(sessionId), SignalLevel.Lifecycle.ToWire(), true) };
        list.AddRange(explicitOnes.Select(s => new SubscriptionEntry(s.Pattern, s.MinLevel.ToWire(), false)));
        return new SubscriptionsReply(sessionId, list);
    }

    /// <summary><c>notify</c>: a desktop notification on the server's machine.</summary>
    public async Task<NotifyReply> NotifyAsync(string title, string message, bool sound, CancellationToken cancellationToken)
    {
        Validate.MaxLength(title, BusOptions.MaxTitleLength, "title");
        Validate.MaxLength(message, options.MaxPayloadBytes, "message");
        var shown = await notifier.NotifyAsync(title, message, sound, cancellationToken);
        return new NotifyReply(shown, title, message);
    }

    /// <summary>Expires sessions silent for longer than the TTL; returns those expired.</summary>
    public Task<IReadOnlyList<Session>> ExpireSessionsAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        return store.ExpireSessionsAsync(
            now - options.SessionTtl, now,
            s => new NewEvent(
                "session_unregistered",
                $"{s.Name} ended on {s.Machine} (expired: no heartbeat for {options.SessionTtl.TotalHours:0.##} h)",
                s.SessionId, now, ChannelName.All, null, SignalLevel.Lifecycle, null, null),
            cancellationToken);
    }

    /// <summary>The wire form of an event.</summary>
    public static EventReply ToReply(BusEvent e) =>
        new(e.Id, e.EventType, e.Payload, e.SessionId, Timestamps.ToWire(e.Timestamp), e.Channel, e.CorrelationId,
            e.SignalLevel.ToWire())
        {
            Title = e.Title,
            Tags = e.Tags,
        };

    private DateTimeOffset Now() => Timestamps.ToMillisecond(time.GetUtcNow());

    private static long ParseCursor(string text, string parameter)
    {
        if (!Cursor.TryParse(text, out var cursor))
        {
            throw new BusValidationException(
                $"{parameter} must be the decimal string of an event id, like \"42\" (got \"{Validate.Preview(text)}\").");
        }

        return cursor;
    }

    private static BusError NotFound(string sessionId) =>
        new("Session not found") { Details = { ["session_id"] = sessionId } };

    private static BusError DeletedError(Session session) =>
        new("Session deleted")
        {
            Details =
            {
                ["session_deleted"] = true,
                ["session_id"] = session.SessionId,
                ["display_id"] = session.DisplayId,
                ["deleted_at"] = session.DeletedAt is { } d ? Timestamps.ToWire(d) : null,
                ["hint"] = DeletedHint,
            },
        };

    private static BusError AckRefusal(string message, string sessionId, string? saved, params (string Key, object? Value)[] extra)
    {
        var error = new BusError(message)
        {
            Details = { ["success"] = false, ["session_id"] = sessionId, ["cursor"] = saved },
        };
        foreach (var (key, value) in extra)
        {
            error.Details[key] = value;
        }

        return error;
    }
}

/// <summary>A batch whose every event was validated (<see cref="BusService.PrepareBatch"/>), ready to store.</summary>
public sealed class PublishBatch
{
    internal PublishBatch(IReadOnlyList<NewEvent> events) => Events = events;

    internal IReadOnlyList<NewEvent> Events { get; }

    /// <summary>How many events it holds.</summary>
    public int Count => Events.Count;

    /// <summary>The sessions its events are published as (each once).</summary>
    public IEnumerable<string> SessionIds => Events.Select(e => e.SessionId).Distinct(StringComparer.Ordinal);
}

/// <summary><c>publish_event</c>'s arguments.</summary>
public sealed record PublishRequest(
    string EventType,
    string Payload,
    string? SessionId = null,
    string? Channel = null,
    string? Title = null,
    IReadOnlyList<string>? Tags = null,
    string? CorrelationId = null,
    string? SignalLevel = null);

/// <summary><c>get_events</c>'s arguments.</summary>
public sealed record GetEventsRequest(
    string? Cursor = null,
    int? Limit = null,
    string? SessionId = null,
    string? Order = null,
    string? Channel = null,
    bool Resume = false,
    IReadOnlyList<string>? EventTypes = null,
    bool Peek = false,
    string? CorrelationId = null,
    string? MinLevel = null,
    int? WaitSeconds = null)
{
    /// <summary>See <see cref="EventQuery.VisibleToToken"/>: the caller's token when direct messages must be filtered.</summary>
    public string? VisibleToToken { get; init; }

    /// <summary>See <see cref="EventQuery.From"/>: only events published as this session.</summary>
    public string? From { get; init; }
}
