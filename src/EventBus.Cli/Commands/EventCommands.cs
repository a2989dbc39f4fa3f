using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;
using EventBus.Core.Bus;

namespace EventBus.Cli.Commands;

/// <summary><c>events</c>, <c>ack</c>, <c>notify</c>: reading, acknowledging, and the desktop notification.</summary>
internal static class EventCommands
{
    public static Command Events(CliContext context)
    {
        var cursor = new Option<string?>("--cursor") { Description = "Read the events after this cursor (from a previous next_cursor)" };
        var sessionId = CliOptions.SessionId("Your session id, for cursor tracking (default: $EVENTBUS_SESSION_ID, else $AGENT_EVENT_BUS_SESSION_ID, else $CLAUDE_CODE_SESSION_ID's session)");
        var limit = new Option<int?>("--limit") { Description = "Most events to return (1..1000, default 50)" };
        var include = new Option<string?>("--include") { Description = "Comma-separated event types to include" };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated event types to leave out (filtered here, after the read)" };
        var timeout = new Option<int>("--timeout") { Description = "Request timeout in milliseconds", DefaultValueFactory = _ => 10000 };
        var order = new Option<string>("--order") { Description = "desc: newest first; asc: oldest first", DefaultValueFactory = _ => "desc" };
        order.AcceptOnlyFromAmong("asc", "desc");
        var channel = new Option<string?>("--channel") { Description = "Only this channel (exact name)" };
        var resume = new Option<bool>("--resume") { Description = "Read from the session's saved cursor (needs a session id)" };
        var peek = new Option<bool>("--peek") { Description = "Read without moving the session's cursor" };
        var correlationId = new Option<string?>("--correlation-id") { Description = "Only one correlation thread" };
        var minLevel = new Option<string?>("--min-level") { Description = "Drop events below this level (lifecycle < info < actionable)" };
        minLevel.AcceptOnlyFromAmong("lifecycle", "info", "actionable");
        var wait = new Option<int?>("--wait") { Description = "When nothing is new, wait up to this many seconds for an event (long-poll, 0..300)" };

        var command = new Command("events", "Read events (newest first by default; --resume --order asc to drain your backlog)")
        {
            cursor, sessionId, limit, include, exclude, timeout, order, channel, resume, peek, correlationId, minLevel, wait,
        };
        command.SetAction(context, async run =>
        {
            var session = await run.SessionIdAsync(sessionId);
            if (run.Get(resume) && session is null)
            {
                throw new CliUsageException("--resume requires --session-id (or $EVENTBUS_SESSION_ID).");
            }

            var orderValue = run.Get(order) ?? "desc";
            var arguments = new JsonObject { ["order"] = orderValue };
            PublishCommand.Put(arguments, "cursor", run.Get(cursor));
            if (run.Get(limit) is { } n)
            {
                arguments["limit"] = n;
            }

            PublishCommand.Put(arguments, "session_id", session);
            PublishCommand.Put(arguments, "channel", run.Get(channel));
            if (run.Get(resume))
            {
                arguments["resume"] = true;
            }

            if (run.Get(peek))
            {
                arguments["peek"] = true;
            }

            if (run.Get(include) is { Length: > 0 } types)
            {
                arguments["event_types"] = new JsonArray([.. PublishCommand.SplitList(types).Select(t => (JsonNode)t!)]);
            }

            PublishCommand.Put(arguments, "correlation_id", run.Get(correlationId));
            PublishCommand.Put(arguments, "min_level", run.Get(minLevel));
            var callTimeout = TimeSpan.FromMilliseconds(Math.Max(1, run.Get(timeout)));
            if (run.Get(wait) is { } seconds)
            {
                arguments["wait_seconds"] = seconds;
                callTimeout += TimeSpan.FromSeconds(Math.Max(0, seconds));
            }

            var result = await run.CallAsync("get_events", arguments, callTimeout);
            if (SessionCommands.ErrorOf(result) is { } error)
            {
                if (run.Json)
                {
                    run.WriteJson(result);
                }
                else
                {
                    await run.Error.WriteLineAsync($"Error: {error}");
                }

                return CliApp.Failed;
            }

            // Each event read into its record, beside its JSON as the bus sent it (what --json prints).
            var page = Reply.Read(result, CliJson.Default.EventsReply);
            var events = page.Events is { } read ? read.Zip(result.GetProperty("events").EnumerateArray()).ToList() : [];
            var nextCursor = page.NextCursor;
            var hasMore = page.HasMore;
            if (run.Get(exclude) is { Length: > 0 } excluded)
            {
                var drop = PublishCommand.SplitList(excluded).ToHashSet(StringComparer.Ordinal);
                events = [.. events.Where(e => !drop.Contains(e.First.EventType ?? ""))];
            }

            if (run.Json)
            {
                run.WriteJson(new JsonObject
                {
                    ["events"] = new JsonArray([.. events.Select(e => JsonNode.Parse(e.Second.GetRawText()))]),
                    ["next_cursor"] = nextCursor,
                    ["has_more"] = hasMore,
                });
                return CliApp.Ok;
            }

            if (events.Count == 0)
            {
                await run.Out.WriteLineAsync("No events");
            }

            foreach (var (e, _) in events)
            {
                await run.Out.WriteAsync(Format(e));
                await run.Out.WriteLineAsync();
            }

            if (hasMore)
            {
                await run.Error.WriteLineAsync(orderValue == "asc"
                    ? $"More events available; re-poll with --cursor {nextCursor}."
                    : "More events available; use --order asc with --cursor to drain the backlog.");
            }

            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>The old CLI's text for one event: header, optional title, payload, and a from line.</summary>
    internal static string Format(EventReply e)
    {
        var text = new System.Text.StringBuilder();
        var header = $"[{e.Id.ToString(CultureInfo.InvariantCulture)}] {e.EventType} ({e.Channel})";
        if (e.SignalLevel is { Length: > 0 } level)
        {
            header += $" [{level}]";
        }

        text.Append(header).Append('\n');
        if (e.Title is { Length: > 0 } title)
        {
            text.Append("    title: ").Append(title).Append('\n');
        }

        text.Append("    ").Append(e.Payload).Append('\n');
        var from = $"    from: {e.SessionId ?? "None"} at {e.Timestamp}";
        if (e.CorrelationId is { Length: > 0 } correlation)
        {
            from += $" corr:{correlation}";
        }

        if (e.Tags is { Count: > 0 } tags)
        {
            from += $" tags:{string.Join(',', tags)}";
        }

        text.Append(from).Append('\n');
        return text.ToString();
    }

    public static Command Ack(CliContext context)
    {
        var cursor = new Argument<string>("cursor") { Description = "The cursor to save (a next_cursor, or an event id)" };
        var sessionId = CliOptions.SessionId();
        var allowRewind = new Option<bool>("--allow-rewind") { Description = "Allow moving the cursor backwards (to read events again)" };
        var command = new Command("ack", "Save your session's cursor: everything up to CURSOR counts as read") { cursor, sessionId, allowRewind };
        command.SetAction(context, async run =>
        {
            var session = await run.SessionIdAsync(sessionId) ?? throw new CliUsageException("ack needs --session-id (or $EVENTBUS_SESSION_ID).");
            var arguments = new JsonObject { ["session_id"] = session, ["cursor"] = run.Get(cursor) };
            if (run.Get(allowRewind))
            {
                arguments["allow_rewind"] = true;
            }

            var result = await run.CallAsync("ack_events", arguments);
            if (SessionCommands.ErrorOf(result) is { } error)
            {
                if (run.Json)
                {
                    run.WriteJson(result);
                }
                else
                {
                    // A refused ack carries the saved cursor under the reply's own key.
                    var saved = Reply.Read(result, CliJson.Default.AckReply).Cursor;
                    await run.Error.WriteLineAsync($"Error: {error}" + (saved is null ? "" : $" (saved cursor: {saved})"));
                }

                return CliApp.Failed;
            }

            if (run.Json)
            {
                run.WriteJson(result);
            }
            else
            {
                var ack = Reply.Read(result, CliJson.Default.AckReply);
                await run.Out.WriteLineAsync($"Cursor saved: {ack.PreviousCursor ?? "none"} -> {ack.Cursor}");
            }

            return CliApp.Ok;
        });
        return command;
    }

    public static Command Notify(CliContext context)
    {
        var title = new Option<string>("--title") { Description = "Notification title", Required = true };
        var message = new Option<string>("--message") { Description = "Notification message", Required = true };
        var sound = new Option<bool>("--sound") { Description = "Play a sound" };
        var command = new Command("notify", "Show a desktop notification on the bus's machine") { title, message, sound };
        command.SetAction(context, async run =>
        {
            var arguments = new JsonObject { ["title"] = run.Get(title), ["message"] = run.Get(message) };
            if (run.Get(sound))
            {
                arguments["sound"] = true;
            }

            var result = await run.CallAsync("notify", arguments);
            var success = Reply.Read(result, CliJson.Default.SuccessReply).Success == true;
            if (run.Json)
            {
                run.WriteJson(result);
            }
            else if (success)
            {
                await run.Out.WriteLineAsync("Notification sent");
            }
            else
            {
                await run.Error.WriteLineAsync("Notification failed");
            }

            return success ? CliApp.Ok : CliApp.Failed;
        });
        return command;
    }

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
