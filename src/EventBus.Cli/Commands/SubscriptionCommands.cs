using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli.Commands;

/// <summary><c>subscribe</c>, <c>unsubscribe</c>, <c>subscriptions</c>: what gets pushed into a session.</summary>
internal static class SubscriptionCommands
{
    public static Command Subscribe(CliContext context)
    {
        var channel = new Argument<string>("channel") { Description = "A channel or pattern: repo:* (one segment), alerts:# (any depth)" };
        var minLevel = new Option<string?>("--min-level") { Description = "Push only events at or above this level (default actionable)" };
        minLevel.AcceptOnlyFromAmong("lifecycle", "info", "actionable");
        var sessionId = CliOptions.SessionId();
        var command = new Command("subscribe", "Subscribe your session to a channel or pattern (stored; survives restarts)") { channel, minLevel, sessionId };
        command.SetAction(context, async run =>
        {
            var arguments = new JsonObject { ["channel"] = run.Get(channel), ["session_id"] = await Required(run, sessionId, "subscribe") };
            PublishCommand.Put(arguments, "min_level", run.Get(minLevel));
            var result = await run.CallAsync("subscribe", arguments);
            return Report(run, result, () =>
            {
                var reply = Reply.Read(result, CliJson.Default.SubscriptionReply);
                return $"Subscribed to {reply.Channel} (min level {reply.MinLevel})";
            });
        });
        return command;
    }

    public static Command Unsubscribe(CliContext context)
    {
        var channel = new Argument<string>("channel") { Description = "The channel or pattern, exactly as subscribed" };
        var sessionId = CliOptions.SessionId();
        var command = new Command("unsubscribe", "Remove one of your session's subscriptions") { channel, sessionId };
        command.SetAction(context, async run =>
        {
            var arguments = new JsonObject { ["channel"] = run.Get(channel), ["session_id"] = await Required(run, sessionId, "unsubscribe") };
            var result = await run.CallAsync("unsubscribe", arguments);
            return Report(run, result, () => $"Unsubscribed from {Reply.Read(result, CliJson.Default.UnsubscribeReply).Channel}");
        });
        return command;
    }

    public static Command Subscriptions(CliContext context)
    {
        var sessionId = CliOptions.SessionId();
        var command = new Command("subscriptions", "List your session's subscriptions") { sessionId };
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("list_subscriptions", new JsonObject { ["session_id"] = await Required(run, sessionId, "subscriptions") });
            if (SessionCommands.ErrorOf(result) is not null || run.Json)
            {
                return SessionCommands.ResultOrError(run, result);
            }

            var subscriptions = Reply.Read(result, CliJson.Default.SubscriptionsReply);
            await run.Out.WriteLineAsync($"Subscriptions of {subscriptions.SessionId}:\n");
            foreach (var s in subscriptions.Subscriptions ?? [])
            {
                var implicitNote = s.Implicit ? "  (implicit)" : "";
                await run.Out.WriteLineAsync($"  {s.Channel}  [{s.MinLevel}]{implicitNote}");
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static async Task<string> Required(Invocation run, Option<string?> sessionId, string verb) =>
        await run.SessionIdAsync(sessionId) ?? throw new CliUsageException($"{verb} needs --session-id (or $EVENTBUS_SESSION_ID).");

    private static int Report(Invocation run, JsonElement result, Func<string> text)
    {
        if (SessionCommands.ErrorOf(result) is not null || run.Json)
        {
            return SessionCommands.ResultOrError(run, result);
        }

        run.Out.WriteLine(text());
        return CliApp.Ok;
    }
}
