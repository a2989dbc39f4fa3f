using System.Text.Json.Nodes;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using EventBus.Core.Events;

namespace EventBus.Cli.Hooks;

/// <summary>One hook run: its input, the bus client with short per-call timeouts, and the session it acts as.</summary>
internal sealed class HookRun(Invocation run, HookInput input, TimeSpan callTimeout, CancellationToken cancellationToken)
{
    public Invocation Run { get; } = run;

    public HookInput Input { get; } = input;

    public TimeSpan CallTimeout { get; } = callTimeout;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public BusClient Client => Run.Client;

    public int Limit => Math.Clamp(Run.Get(HookCommands.Limit), 1, 100);

    /// <summary>Claude Code's session id: the input's, else <c>CLAUDE_CODE_SESSION_ID</c>.</summary>
    public string? ClaudeSessionId => Input.SessionId ?? (Run.Context.Environment("CLAUDE_CODE_SESSION_ID") is { Length: > 0 } s ? s : null);

    /// <summary>The session's working directory: the input's, else <c>CLAUDE_PROJECT_DIR</c>, else ours.</summary>
    public string Cwd => Input.Cwd ?? (Run.Context.Environment("CLAUDE_PROJECT_DIR") is { Length: > 0 } dir ? dir : Run.Context.CurrentDirectory);

    public string StateDirectory => Claude.StateDirectory.Resolve(Run.Context);

    /// <summary>The per-session hook state (a session without an id shares one "anonymous" file).</summary>
    public HookState State() => HookState.Load(StateDirectory, ClaudeSessionId ?? "anonymous");

    /// <summary>Registers, or resumes the bus session of this Claude Code session (client_id = its session id).</summary>
    public async Task<BusSession> RegisterAsync() =>
        await BusSession.RegisterAsync(
            Client, await SessionIdentity.NameAsync(Cwd, CancellationToken), Run.Context.MachineName, Cwd, ClaudeSessionId, CallTimeout, CancellationToken);

    /// <summary>
    /// Reads (and so consumes) the oldest unread events, up to <see cref="Limit"/>, skipping lifecycle noise; returns
    /// them as digest lines (the session's own events are consumed but not shown).
    /// </summary>
    public async Task<(string Lines, bool HasMore, int Count)> ConsumeUnreadAsync(BusSession session)
    {
        var page = await Client.CallToolAsync(
            "get_events",
            new JsonObject { ["session_id"] = session.SessionId, ["resume"] = true, ["order"] = "asc", ["limit"] = Limit, ["min_level"] = "info" },
            CallTimeout, CancellationToken);
        if (EventJson.Error(page) is { } error)
        {
            throw new BusCallException($"get_events: {error}", "get_events");
        }

        var interest = await session.InterestAsync(Client, CallTimeout, CancellationToken);
        var events = EventJson.Events(page).Where(e => !interest.IsOwn(e))
            .OrderByDescending(e => interest.IsDirected(e)).ThenByDescending(interest.IsUrgent).ThenBy(e => e.Id).ToList();
        var hasMore = Reply.Read(page, CliJson.Default.EventsReply).HasMore;
        if (events.Count == 0)
        {
            return ("", hasMore, 0);
        }

        var names = await BusSession.DisplayIdsAsync(Client, CallTimeout, CancellationToken);
        return (Digest.Lines(events, interest, names), hasMore, events.Count);
    }

    /// <summary>The unread events (up to 200, lifecycle left out) without consuming them.</summary>
    public async Task<IReadOnlyList<BusEvent>> PeekUnreadAsync(BusSession session)
    {
        var page = await Client.CallToolAsync(
            "get_events",
            new JsonObject { ["session_id"] = session.SessionId, ["resume"] = true, ["peek"] = true, ["order"] = "asc", ["limit"] = 200, ["min_level"] = "info" },
            CallTimeout, CancellationToken);
        return EventJson.Error(page) is { } error ? throw new BusCallException($"get_events: {error}", "get_events") : EventJson.Events(page);
    }

    /// <summary>Marks everything up to <paramref name="eventId"/> as read (a refusal, e.g. already past it, is fine).</summary>
    public async Task AckAsync(BusSession session, long eventId) =>
        await Client.CallToolAsync(
            "ack_events", new JsonObject { ["session_id"] = session.SessionId, ["cursor"] = Cursor.Format(eventId) }, CallTimeout, CancellationToken);

    /// <summary>Prints <c>{"hookSpecificOutput": {"hookEventName": …, "additionalContext": …}}</c>.</summary>
    public void WriteContext(string hookEventName, string context) =>
        WriteJson(new JsonObject
        {
            ["hookSpecificOutput"] = new JsonObject { ["hookEventName"] = hookEventName, ["additionalContext"] = context },
        });

    public void WriteJson(JsonObject value)
    {
        Run.Out.WriteLine(value.ToJsonString(Invocation.CompactJson));
        Run.Out.Flush();
    }
}
