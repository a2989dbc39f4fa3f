using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Server.Webhooks;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tools;

/// <summary>
/// The twelve tools of the agent-event-bus contract (same names, parameters and result keys: the bus tools here, the
/// webhook tools in BusToolCatalog.Webhooks.cs), the push subscription tools, and the delivery log tools.
/// The descriptions are written for the agent that reads them.
/// </summary>
internal static partial class BusToolCatalog
{
    private const string SessionIdHelp =
        "Your session_id from register_session.";

    private const string CursorHelp =
        "A cursor is the decimal string of the highest event id you have seen (e.g. \"42\"); events after it are new to you.";

    public static IReadOnlyList<BusTool> Create(BusService bus, WebhookService webhooks) =>
    [
        RegisterSession(bus),
        ListSessions(bus),
        ListChannels(bus),
        PublishEvent(bus),
        GetEvents(bus),
        AckEvents(bus),
        UnregisterSession(bus),
        Notify(bus),
        Subscribe(bus),
        Unsubscribe(bus),
        ListSubscriptions(bus),
        RegisterWebhook(webhooks),
        ListWebhooks(webhooks),
        SetWebhookActive(webhooks),
        UnregisterWebhook(webhooks),
        ListDeliveries(webhooks),
        Redeliver(webhooks),
    ];

    private const string BoundHelp = " Defaults to the session this connection registered as.";

    private static string RequiredSession(ToolCall c, string tool) =>
        c.SessionOr("session_id") ?? throw new ToolArgumentException(
            $"{tool} needs \"session_id\": pass it, or call register_session on this connection first.");

    private static BusTool RegisterSession(BusService bus) => new(
        "register_session",
        "Join the event bus",
        """
        Join the event bus as a session. Call this once when you start working; it returns your session_id (use it in
        every later call), a human-friendly display_id, and a cursor. Passing the same client_id from the same machine
        again (for example after a restart) resumes the same session with its saved cursor instead of creating a new
        one. Other sessions can then send you direct messages on channel "session:<your session_id>". Registration is
        announced to everyone as a session_registered event.
        """,
        new ToolSchema()
            .String("name", "A short name for what you are working on, e.g. the branch or task.", required: true, maxLength: BusOptions.MaxNameLength)
            .String("machine", "The host you run on (your hostname). Sessions are identified by (machine, client_id).", maxLength: BusOptions.MaxNameLength)
            .String("cwd", "Your working directory; the repo name is derived from it.", maxLength: BusOptions.MaxCwdLength)
            .String("client_id", "A stable id of your client (e.g. the Claude Code session id) so a restart resumes the same session.", maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) =>
        {
            var name = c.Args.RequiredString("name");
            if (Security.SessionAccess.CheckRegisterName(c.Caller, name) is { } refused)
            {
                throw new BusValidationException(refused);
            }

            var reply = await bus.RegisterSessionAsync(
                name, c.Args.OptionalString("machine"), c.Args.OptionalString("cwd"), c.Args.OptionalString("client_id"),
                c.Caller.Actor, ct);
            c.Session?.Bind(reply.SessionId);
            return reply;
        });

    private static BusTool ListSessions(BusService bus) => new(
        "list_sessions",
        "List live sessions",
        """
        List the sessions currently on the bus (most recently active first) with their session_id, display_id, name,
        machine, repo and working directory. Use it to find who to message: send a direct message by publishing to
        channel "session:<their session_id>".
        """,
        new ToolSchema(),
        new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
        async (c, ct) => await bus.ListSessionsAsync(c.Caller.Actor, ct));

    private static BusTool ListChannels(BusService bus) => new(
        "list_channels",
        "List channels",
        """
        List the channels live sessions listen on, with subscriber counts. Every session hears "all", its own
        "session:<id>", "repo:<its repo>" and "machine:<its machine>". Any other channel name is fine to publish to.
        """,
        new ToolSchema(),
        new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
        async (_, ct) => await bus.ListChannelsAsync(ct));

    private static BusTool PublishEvent(BusService bus) => new(
        "publish_event",
        "Publish an event",
        $"""
        Publish an event for other sessions. It is stored durably before this returns, and gets an event_id.
        Channels: "all" (everyone, the default), "session:<session_id>" (a direct message to one session),
        "repo:<name>", "machine:<name>", or any name you agree on. signal_level says how loudly it asks for attention:
        lifecycle < info < actionable; if you omit it, direct messages and types like help_needed, blocker_found,
        ci_failed, error_broadcast are actionable, registration-style types are lifecycle, the rest info.
        Payloads up to {bus.Options.MaxPayloadBytes} bytes. Also refreshes your session's heartbeat.
        """,
        new ToolSchema()
            .String("event_type", "What happened, in snake_case, e.g. task_completed, help_needed, ci_failed.", required: true, maxLength: BusOptions.MaxNameLength)
            .String("payload", "The message itself (plain text or JSON text).", required: true)
            .String("session_id", SessionIdHelp + " Marks you as the sender.", maxLength: BusOptions.MaxNameLength)
            .String("channel", "Where to publish (default \"all\").", maxLength: BusOptions.MaxNameLength)
            .String("title", "An optional short headline.", maxLength: BusOptions.MaxTitleLength)
            .StringList("tags", "Optional tags for filtering downstream.")
            .String("correlation_id", "Optional thread id linking a request and its replies.", maxLength: BusOptions.MaxNameLength)
            .Enum("signal_level", "Optional explicit level: lifecycle, info or actionable.", SignalLevels.Names),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) => await bus.PublishAsync(
            new PublishRequest(
                c.Args.RequiredString("event_type"), c.Args.RequiredString("payload"), c.SessionOr("session_id"),
                c.Args.OptionalString("channel"), c.Args.OptionalString("title"), c.Args.OptionalStringList("tags"),
                c.Args.OptionalString("correlation_id"), c.Args.OptionalString("signal_level")),
            ct));

    private static BusTool GetEvents(BusService bus) => new(
        "get_events",
        "Read events",
        $"""
        Read events from the bus. {CursorHelp}
        The usual call is get_events(session_id=<yours>, resume=true): it starts from your saved cursor, returns the
        oldest events you have not seen (up to limit), and saves the new position, so each call returns only what is
        new. Keep calling while has_more is true. next_cursor is the position after this page.
        Any read with your session_id moves your saved cursor forward unless you pass peek=true (look without
        consuming) or filter by channel, event_types or correlation_id; min_level does consume (quieter events count
        as seen). Without session_id, cursor and resume you get the newest events (order "desc", the default) or the
        oldest (order "asc"). Order only sorts the page; it never changes which events a cursor read returns.
        To wait for the next event instead of polling, pass wait_seconds (up to 300): the call returns as soon as a
        matching event is committed, or with no events when the time is up.
        Old events are deleted by the bus's retention rules. If some after your cursor are gone, the read is not an
        error: it returns what is left, with truncated: true and first_available_cursor (nothing after that is missing).
        """,
        new ToolSchema()
            .String("cursor", CursorHelp + " Overrides resume.")
            .Integer("limit", "The most events to return.", 1, BusOptions.MaxLimit, 50)
            .String("session_id", SessionIdHelp + " Enables the saved cursor (resume) and refreshes your heartbeat.", maxLength: BusOptions.MaxNameLength)
            .Enum("order", "\"desc\" newest first (default) or \"asc\" oldest first.", ["desc", "asc"], "desc")
            .String("channel", "Only events on exactly this channel (does not move your saved cursor).", maxLength: BusOptions.MaxNameLength)
            .Boolean("resume", "Start from your saved cursor (needs session_id).")
            .StringList("event_types", "Only these event types (does not move your saved cursor).")
            .Boolean("peek", "Read without moving your saved cursor.")
            .String("correlation_id", "Only events of this thread (does not move your saved cursor).", maxLength: BusOptions.MaxNameLength)
            .Enum("min_level", "Drop events quieter than this level: lifecycle < info < actionable.", SignalLevels.Names)
            .Integer("wait_seconds", "Long-poll: if nothing matches yet, wait up to this many seconds for it to arrive (returns the moment it does).", 0, BusOptions.MaxWaitSeconds, 0),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) => (await bus.GetEventsAsync(
            new GetEventsRequest(
                c.Args.OptionalCursor("cursor"), c.Args.OptionalInt("limit"), c.SessionOr("session_id"),
                c.Args.OptionalString("order"), c.Args.OptionalString("channel"), c.Args.OptionalBool("resume", false),
                c.Args.OptionalStringList("event_types"), c.Args.OptionalBool("peek", false),
                c.Args.OptionalString("correlation_id"), c.Args.OptionalString("min_level"), c.Args.OptionalInt("wait_seconds"))
            {
                VisibleToToken = c.Caller.DirectMessageFilter,
            },
            ct)).ToWire());

    private static BusTool AckEvents(BusService bus) => new(
        "ack_events",
        "Save your cursor",
        $"""
        Save your position explicitly: mark everything up to and including cursor as seen. {CursorHelp}
        Useful after peek reads, once you have handled the events. A cursor behind your saved one is refused unless
        allow_rewind=true (to re-read events); one beyond the newest event is refused.
        """,
        new ToolSchema()
            .String("session_id", SessionIdHelp + BoundHelp, maxLength: BusOptions.MaxNameLength)
            .String("cursor", "The event id to save as seen, as a decimal string.", required: true)
            .Boolean("allow_rewind", "Allow moving the saved cursor backwards."),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = true, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) => (await bus.AckAsync(
            RequiredSession(c, "ack_events"),
            c.Args.OptionalCursor("cursor") ?? throw new ToolArgumentException("ack_events needs \"cursor\" (a string like \"42\")."),
            c.Args.OptionalBool("allow_rewind", false), ct)).ToWire());

    private static BusTool UnregisterSession(BusService bus) => new(
        "unregister_session",
        "Leave the event bus",
        """
        Leave the bus when you are done (announced as session_unregistered). Identify the session by session_id, or by
        client_id (add machine if the same client_id is live on several machines). Registering again later with the same
        machine and client_id resumes the session.
        """,
        new ToolSchema()
            .String("session_id", SessionIdHelp + " Takes precedence over client_id.", maxLength: BusOptions.MaxNameLength)
            .String("client_id", "The client_id you registered with.", maxLength: BusOptions.MaxNameLength)
            .String("machine", "The machine you registered from (narrows a client_id lookup).", maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = true, OpenWorldHint = false },
        async (c, ct) => (await bus.UnregisterAsync(
            c.Args.OptionalString("client_id") is null ? c.SessionOr("session_id") : c.Args.OptionalString("session_id"),
            c.Args.OptionalString("client_id"), c.Args.OptionalString("machine"), c.Caller.Actor, ct)).ToWire());

    private static BusTool Subscribe(BusService bus) => new(
        "subscribe",
        "Subscribe to channels",
        """
        Have events on matching channels pushed to you as they happen (as channel messages, when your client shows
        them), at or above a level. Patterns match by ':'-separated segment: "repo:*" is any one segment
        ("repo:eventbus"), "alerts:#" is any depth ("alerts", "alerts:disk:sda"), anything else is exact.
        min_level defaults to actionable, so chatter does not interrupt you; use "info" to hear everything but
        lifecycle noise. Direct messages to you are always pushed. Subscribing again to the same pattern changes its
        level. Subscriptions are stored: they survive reconnects and server restarts. Reading with get_events is
        unaffected (reads are broadcast).
        """,
        new ToolSchema()
            .String("channel", "A channel name or pattern, e.g. \"alerts:#\" or \"repo:*\".", required: true, maxLength: BusOptions.MaxNameLength)
            .Enum("min_level", "Push only events at or above this level (default actionable).", SignalLevels.Names, "actionable")
            .String("session_id", SessionIdHelp + BoundHelp, maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = true, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) => (await bus.SubscribeAsync(
            RequiredSession(c, "subscribe"), c.Args.RequiredString("channel"), c.Args.OptionalString("min_level"), ct)).ToWire());

    private static BusTool Unsubscribe(BusService bus) => new(
        "unsubscribe",
        "Unsubscribe from channels",
        "Stop pushing a pattern you subscribed to (give it exactly as subscribed; list_subscriptions shows them).",
        new ToolSchema()
            .String("channel", "The pattern to stop pushing.", required: true, maxLength: BusOptions.MaxNameLength)
            .String("session_id", SessionIdHelp + BoundHelp, maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = true, DestructiveHint = true, OpenWorldHint = false },
        async (c, ct) => (await bus.UnsubscribeAsync(RequiredSession(c, "unsubscribe"), c.Args.RequiredString("channel"), ct)).ToWire());

    private static BusTool ListSubscriptions(BusService bus) => new(
        "list_subscriptions",
        "List your subscriptions",
        "The channel patterns pushed to you, with their levels; your own direct channel is listed as implicit.",
        new ToolSchema().String("session_id", SessionIdHelp + BoundHelp, maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
        async (c, ct) => (await bus.ListSubscriptionsAsync(RequiredSession(c, "list_subscriptions"), ct)).ToWire());

    private static BusTool Notify(BusService bus) => new(
        "notify",
        "Desktop notification",
        """
        Show a desktop notification to the human at the machine running the bus server (notify-send on Linux).
        success is false when that machine has no desktop session to show it on.
        """,
        new ToolSchema()
            .String("title", "A short title.", required: true, maxLength: BusOptions.MaxTitleLength)
            .String("message", "The body text.", required: true)
            .Boolean("sound", "Also play a sound where supported."),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = true },
        async (c, ct) => await bus.NotifyAsync(
            c.Args.RequiredString("title"), c.Args.RequiredString("message"), c.Args.OptionalBool("sound", false), ct));
}
