using System.Text.Json.Nodes;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using EventBus.Core.Events;

namespace EventBus.Cli.Hooks;

/// <summary>
/// <c>eventbus hook rewake</c>, an <c>asyncRewake</c> hook: long-polls the bus (<c>get_events</c> with
/// <c>wait_seconds</c>, read-only) from the session's read cursor until an event arrives that is for this session
/// (<see cref="Interest.IsUrgent"/>), then prints it on stderr, marks it read and exits 2, which wakes Claude even
/// when idle. Exits 0 quietly when the wait is over. Only the newest watcher of a session keeps watching (one runs
/// after every turn), and it wakes the session at most <c>--max-wakes</c> times until a person types again.
/// </summary>
internal static class RewakeWatcher
{
    public const int Wake = 2;

    public static async Task<int> RunAsync(HookRun hook, TimeSpan wait, int pollSeconds, int maxWakes)
    {
        var run = hook.Run;
        var time = run.Context.Time;
        var deadline = time.GetTimestamp() + (long)(wait.TotalSeconds * time.TimestampFrequency);
        TimeSpan Left() => TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);

        // Down at the start: say so once and let the session be (the next turn starts a new watcher).
        var session = await hook.RegisterAsync();
        var claudeId = hook.ClaudeSessionId ?? "anonymous";
        var claimPath = HookState.WatcherPath(hook.StateDirectory, claudeId);
        var claim = $"{Environment.ProcessId}:{Guid.NewGuid():N}";
        StateDirectory.WriteAtomically(claimPath, claim);
        bool Superseded() => StateDirectory.TryRead(claimPath) != claim;

        var position = session.Cursor;
        var retry = TimeSpan.FromSeconds(1);
        while (Left() > TimeSpan.Zero && !Superseded())
        {
            IReadOnlyList<BusEvent> events;
            long next;
            Interest interest;
            try
            {
                var waitSeconds = (int)Math.Clamp(Math.Ceiling(Left().TotalSeconds), 0, pollSeconds);
                var page = await hook.Client.CallToolAsync(
                    "get_events",
                    new JsonObject { ["cursor"] = Cursor.Format(position), ["order"] = "asc", ["limit"] = 200, ["wait_seconds"] = waitSeconds },
                    TimeSpan.FromSeconds(waitSeconds) + hook.CallTimeout, hook.CancellationToken);
                events = EventJson.Events(page);
                next = long.TryParse(Reply.Read(page, CliJson.Default.EventsReply).NextCursor, out var parsed) ? parsed : position;
                interest = await session.InterestAsync(hook.Client, hook.CallTimeout, hook.CancellationToken);
                retry = TimeSpan.FromSeconds(1);
            }
            catch (BusUnavailableException)
            {
                // Went away while we waited (a restart): keep waiting for it, quietly, until the time is up.
                var pause = retry < Left() ? retry : Left();
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, time, hook.CancellationToken);
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(15).Ticks));
                continue;
            }

            position = Math.Max(position, next);
            if (!events.Any(interest.IsUrgent))
            {
                continue;
            }

            // Still unread? The channel's reply, an ack, the Stop hook or another watcher may have handled it already.
            var unread = (await hook.PeekUnreadAsync(session)).Where(interest.IsUrgent).ToList();
            if (unread.Count == 0 || Superseded())
            {
                continue;
            }

            var state = hook.State();
            if (state.Wakes >= maxWakes)
            {
                await run.Error.WriteLineAsync(
                    $"eventbus hook rewake: {unread.Count} event(s) for {session.DisplayId} are unread, but the session was already woken {state.Wakes} time(s) since a prompt was typed (--max-wakes {maxWakes}); not waking it again.");
                return CliApp.Ok;
            }

            var shown = unread.Take(hook.Limit).ToList();
            var names = await BusSession.DisplayIdsAsync(hook.Client, hook.CallTimeout, hook.CancellationToken);
            await hook.AckAsync(session, shown[^1].Id);
            state.Wakes++;
            state.Save();
            await run.Error.WriteLineAsync(
                $"EventBus: {unread.Count} event(s) for you ({session.DisplayId}, session_id {session.SessionId}) arrived while you were idle. " +
                $"Handle them: answer with publish_event(channel=\"session:<their session_id>\", session_id=\"{session.SessionId}\") or the channel's reply tool.\n" +
                Digest.Lines(shown, interest, names) +
                (unread.Count > shown.Count ? $"\n(+{unread.Count - shown.Count} more: get_events(session_id=\"{session.SessionId}\", resume=true))" : ""));
            await run.Error.FlushAsync(hook.CancellationToken);
            return Wake;
        }

        return CliApp.Ok;
    }
}
