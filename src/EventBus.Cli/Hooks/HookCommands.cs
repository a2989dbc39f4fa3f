using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using EventBus.Core.Events;

namespace EventBus.Cli.Hooks;

/// <summary>
/// <c>eventbus hook session-start|prompt|stop|rewake</c>: Claude Code command hooks. Each reads the hook input JSON
/// on stdin and prints exactly what Claude Code reads (see docs: SessionStart/UserPromptSubmit
/// <c>hookSpecificOutput.additionalContext</c>, Stop <c>{"decision":"block","reason":…}</c>, an asyncRewake hook's
/// exit code 2). A bus that cannot be reached is never the session's problem: no output, exit 0, one line on stderr,
/// within the hook's time budget.
/// </summary>
internal static class HookCommands
{
    internal static readonly Option<double> Timeout = new("--timeout")
    {
        Description = "Seconds each call to the bus may take (short, so a hook never holds Claude Code up)",
        DefaultValueFactory = _ => 3,
        Recursive = true,
    };

    internal static readonly Option<double> Budget = new("--budget")
    {
        Description = "Seconds the whole hook may take before it gives up quietly (session-start, prompt, stop)",
        DefaultValueFactory = _ => 10,
        Recursive = true,
    };

    internal static readonly Option<int> Limit = new("--limit")
    {
        Description = "The most events to show in one go",
        DefaultValueFactory = _ => 10,
        Recursive = true,
    };

    public static Command Create(CliContext context)
    {
        var hook = new Command("hook", "Claude Code hooks: context at session start and on each prompt, a Stop hook for unread messages, an asyncRewake watcher")
        {
            Timeout, Budget, Limit,
        };
        hook.Subcommands.Add(SessionStart(context));
        hook.Subcommands.Add(Prompt(context));
        hook.Subcommands.Add(Stop(context));
        hook.Subcommands.Add(Rewake(context));
        return hook;
    }

    private static Command SessionStart(CliContext context)
    {
        var command = new Command("session-start", "SessionStart hook: registers the session and tells the agent who it is on the bus, how to talk there, and what is unread");
        command.SetHookAction(context, "session-start", async hook =>
        {
            var session = await hook.RegisterAsync();
            var (lines, hasMore, count) = await hook.ConsumeUnreadAsync(session);
            var text = new System.Text.StringBuilder();
            text.Append($"EventBus: you are \"{session.DisplayId}\" on the event bus at {hook.Client.Endpoint.McpUrl} (session_id {session.SessionId}, ")
                .Append($"name {session.Name}, machine {session.Machine}, repo {session.Repo}; {(session.Resumed ? "resumed" : "new")}). ")
                .Append("Other agent sessions and external systems reach you on channel \"session:").Append(session.SessionId).Append("\".\n")
                .Append("Talk on the bus with the eventbus MCP tools: publish_event(event_type, payload, channel=...) with channel ")
                .Append("\"session:<their session_id>\" for a direct message (list_sessions shows who is there), \"repo:").Append(session.Repo)
                .Append("\" for this repo, \"all\" for everyone; mark requests for help or failures signal_level=\"actionable\". ")
                .Append("get_events(session_id=\"").Append(session.SessionId).Append("\", resume=true) reads what is new; ack_events marks it handled; ")
                .Append("subscribe(\"alerts:#\", min_level=\"info\") has a channel pushed to you. Always pass session_id=\"").Append(session.SessionId)
                .Append("\" to the eventbus tools so they act as you.\n");
            text.Append(count == 0
                ? "Nothing unread on the bus for you."
                : $"Unread on the bus ({count}{(hasMore ? "+" : "")}):\n{lines}{(hasMore ? "\nMore unread: get_events(session_id=\"" + session.SessionId + "\", resume=true)." : "")}");
            hook.WriteContext("SessionStart", text.ToString());
            return CliApp.Ok;
        });
        return command;
    }

    private static Command Prompt(CliContext context)
    {
        var command = new Command("prompt", "UserPromptSubmit hook: unread events since the session's cursor, as short context (consumes them)");
        command.SetHookAction(context, "prompt", async hook =>
        {
            var session = await hook.RegisterAsync();
            var state = hook.State();
            if (state.Wakes != 0 || state.Blocks != 0)
            {
                // A person typed: the rewake and Stop loop guards start over.
                state.Wakes = 0;
                state.Blocks = 0;
                state.Save();
            }

            var (lines, hasMore, count) = await hook.ConsumeUnreadAsync(session);
            if (count == 0)
            {
                return CliApp.Ok;
            }

            var more = hasMore ? $"\nMore unread: get_events(session_id=\"{session.SessionId}\", resume=true)." : "";
            hook.WriteContext("UserPromptSubmit", $"EventBus: {count}{(hasMore ? "+" : "")} new event(s) on the bus since your last turn (you are {session.DisplayId}, session_id {session.SessionId}):\n{lines}{more}");
            return CliApp.Ok;
        });
        return command;
    }

    private static Command Stop(CliContext context)
    {
        var maxBlocks = new Option<int>("--max-blocks")
        {
            Description = "Block at most this many times in a row (Claude Code itself overrides after 8)",
            DefaultValueFactory = _ => 3,
        };
        var command = new Command("stop", "Stop hook: keeps Claude working while directed or actionable events are unread (at most --max-blocks times in a row)") { maxBlocks };
        command.SetHookAction(context, "stop", async hook =>
        {
            var state = hook.State();
            if (!hook.Input.StopHookActive)
            {
                state.Blocks = 0; // Claude is stopping on its own, not because we blocked: a new run of blocks.
            }

            var session = await hook.RegisterAsync();
            var interest = await session.InterestAsync(hook.Client, hook.CallTimeout, hook.CancellationToken);
            var unread = await hook.PeekUnreadAsync(session);
            var urgent = unread.Where(interest.IsUrgent).ToList();
            if (urgent.Count == 0)
            {
                state.Save();
                return CliApp.Ok;
            }

            var max = Math.Max(0, hook.Run.Get(maxBlocks));
            if (state.Blocks >= max)
            {
                await hook.Run.Error.WriteLineAsync(
                    $"eventbus hook stop: {urgent.Count} event(s) for {session.DisplayId} are unread, but the Stop hook already blocked {state.Blocks} time(s) in a row (--max-blocks {max}); letting Claude stop. They stay unread.");
                return CliApp.Ok;
            }

            var shown = urgent.Take(hook.Limit).ToList();
            var others = unread.Count(e => e.Id < shown[^1].Id && !interest.IsUrgent(e) && !interest.IsOwn(e));
            var names = await BusSession.DisplayIdsAsync(hook.Client, hook.CallTimeout, hook.CancellationToken);
            var reason =
                $"EventBus: {urgent.Count} unread event(s) for you ({session.DisplayId}, session_id {session.SessionId}) arrived on the bus. " +
                "Deal with them before you stop: answer with publish_event(channel=\"session:<their session_id>\", session_id=\"" + session.SessionId + "\") " +
                "or the channel's reply tool, or say why they need nothing.\n" + Digest.Lines(shown, interest, names) +
                (urgent.Count > shown.Count ? $"\n(+{urgent.Count - shown.Count} more for you: get_events(session_id=\"{session.SessionId}\", resume=true))" : "") +
                (others > 0 ? $"\n({others} other event(s) before them are marked read: get_events(cursor=...) still has them.)" : "");
            await hook.AckAsync(session, shown[^1].Id);
            state.Blocks++;
            state.Save();
            hook.WriteJson(new JsonObject { ["decision"] = "block", ["reason"] = reason });
            return CliApp.Ok;
        });
        return command;
    }

    private static Command Rewake(CliContext context)
    {
        var wait = new Option<double>("--wait")
        {
            Description = "Seconds to wait for an event before exiting 0 quietly (keep it under the hook's timeout)",
            DefaultValueFactory = _ => 3300,
        };
        var poll = new Option<int>("--poll")
        {
            Description = "Seconds each long-poll read waits on the bus (1-300)",
            DefaultValueFactory = _ => 50,
        };
        var maxWakes = new Option<int>("--max-wakes")
        {
            Description = "Wake the session at most this many times until a person types a prompt again",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command(
            "rewake",
            "asyncRewake hook: waits until a directed or actionable event arrives, prints it on stderr and exits 2 (which wakes an idle Claude); exits 0 quietly on timeout")
        {
            wait, poll, maxWakes,
        };
        command.SetHookAction(context, "rewake", hook => RewakeWatcher.RunAsync(
            hook, TimeSpan.FromSeconds(Math.Max(0, hook.Run.Get(wait))), Math.Clamp(hook.Run.Get(poll), 1, 300), Math.Max(0, hook.Run.Get(maxWakes))), budgeted: false);
        return command;
    }

    /// <summary>
    /// Runs a hook body with the hook's rules: stdin parsed, the whole run bounded, and a bus that is down (or slow, or
    /// refusing) reported in one stderr line with exit 0 and nothing on stdout, so Claude Code carries on.
    /// </summary>
    private static void SetHookAction(this Command command, CliContext context, string name, Func<HookRun, Task<int>> body, bool budgeted = true) =>
        command.SetAction(context, async run =>
        {
            var callTimeout = TimeSpan.FromSeconds(Math.Clamp(run.Get(Timeout), 0.1, 300));
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(run.CancellationToken);
            if (budgeted)
            {
                budget.CancelAfter(TimeSpan.FromSeconds(Math.Clamp(run.Get(Budget), 0.5, 600)));
            }

            HookInput input;
            try
            {
                input = HookInput.Parse(await run.Context.In.ReadToEndAsync(budget.Token));
            }
            catch (FormatException ex)
            {
                await run.Error.WriteLineAsync($"eventbus hook {name}: {ex.Message}");
                return CliApp.Failed;
            }

            var hook = new HookRun(run, input, callTimeout, budget.Token);
            try
            {
                return await body(hook);
            }
            catch (BusUnavailableException ex)
            {
                await run.Error.WriteLineAsync($"eventbus hook {name}: {ex.Message} — skipped (start it with `eventbus serve`).");
                return CliApp.Ok;
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested && !run.CancellationToken.IsCancellationRequested)
            {
                await run.Error.WriteLineAsync($"eventbus hook {name}: the bus at {run.Endpoint.McpUrl} did not answer within {run.Get(Budget):0.#} s — skipped.");
                return CliApp.Ok;
            }
            catch (Exception ex) when (ex is BusCallException or BusAuthException)
            {
                await run.Error.WriteLineAsync($"eventbus hook {name}: {ex.Message}");
                return CliApp.Ok;
            }
        });
}
