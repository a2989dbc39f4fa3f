using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus webhook register|list|enable|disable|unregister|deliveries|redeliver</c>: the contract's webhook tools
/// (and the delivery log), with the old CLI's output.
/// </summary>
internal static class WebhookCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("webhook", "Manage webhooks (the bus POSTs matching events to a URL)")
        {
            Register(context), List(context), SetActive(context, "enable", true), SetActive(context, "disable", false),
            Unregister(context), Deliveries(context), Redeliver(context),
        };
        return command;
    }

    private static Command Register(CliContext context)
    {
        // This --url is the webhook's target; the bus's URL comes before the command (eventbus --url BUS webhook …)
        // or from the environment, as in the old CLI.
        var url = new Option<string>("--url") { Description = "The URL to POST events to", Required = true };
        var channel = new Option<string?>("--channel") { Description = "Only events on this channel, or with this prefix (session: matches every DM)" };
        var eventTypes = new Option<string?>("--event-types") { Description = "Comma-separated event types" };
        var secret = new Option<string?>("--secret") { Description = "Shared secret for signing (one is generated when omitted)" };
        var command = new Command("register", "Register a webhook") { url, channel, eventTypes, secret };
        command.SetAction(context, async run =>
        {
            var arguments = new JsonObject { ["url"] = run.Get(url) };
            PublishCommand.Put(arguments, "channel", run.Get(channel));
            if (run.Get(eventTypes) is { Length: > 0 } types)
            {
                arguments["event_types"] = new JsonArray([.. PublishCommand.SplitList(types).Select(t => (JsonNode)t!)]);
            }

            PublishCommand.Put(arguments, "secret", run.Get(secret));
            var result = await run.CallAsync("register_webhook", arguments);
            var code = SessionCommands.ResultOrError(run, result);
            if (code == CliApp.Ok && !run.Json && SessionCommands.Text(result, "webhook_id") is { } id)
            {
                await run.Error.WriteLineAsync($"\nWebhook registered: #{id}");
            }

            return code;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var all = new Option<bool>("--all") { Description = "Include disabled webhooks" };
        var command = new Command("list", "List webhooks") { all };
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("list_webhooks", new JsonObject { ["active_only"] = !run.Get(all) });
            if (run.Json || SessionCommands.ErrorOf(result) is not null)
            {
                return SessionCommands.ResultOrError(run, result);
            }

            var count = result.ValueKind == JsonValueKind.Array ? result.GetArrayLength() : 0;
            if (count == 0)
            {
                await run.Out.WriteLineAsync("No webhooks registered");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Webhooks ({count}):\n");
            foreach (var wh in result.EnumerateArray())
            {
                var active = wh.TryGetProperty("active", out var a) && a.ValueKind == JsonValueKind.True;
                var secret = wh.TryGetProperty("has_secret", out var s) && s.ValueKind == JsonValueKind.True ? " 🔐" : "";
                await run.Out.WriteLineAsync($"  [{(active ? "✓" : "✗")}] #{SessionCommands.Text(wh, "webhook_id")}{secret}");
                await run.Out.WriteLineAsync($"      URL: {SessionCommands.Text(wh, "url")}");
                if (SessionCommands.Text(wh, "channel") is { Length: > 0 } channel)
                {
                    await run.Out.WriteLineAsync($"      Channel: {channel}");
                }

                if (wh.TryGetProperty("event_types", out var types) && types.ValueKind == JsonValueKind.Array && types.GetArrayLength() > 0)
                {
                    await run.Out.WriteLineAsync($"      Events: {string.Join(", ", types.EnumerateArray().Select(t => t.GetString()))}");
                }

                await run.Out.WriteLineAsync($"      Created: {SessionCommands.Text(wh, "created_at")}");
                if (wh.TryGetProperty("oldest_pending_age_seconds", out var age) && age.ValueKind == JsonValueKind.Number
                    && wh.TryGetProperty("pending_deliveries", out var pending) && pending.ValueKind == JsonValueKind.Number)
                {
                    // Only when something waits (the old CLI's lines are unchanged otherwise): a stuck endpoint shows here.
                    await run.Out.WriteLineAsync(
                        $"      Pending: {pending.GetInt32()} (the oldest waiting {FormattableString.Invariant($"{age.GetDouble():0}")} s)");
                }

                await run.Out.WriteLineAsync();
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command SetActive(CliContext context, string verb, bool active)
    {
        var id = new Argument<string>("webhook_id") { Description = "The webhook's id (see `eventbus webhook list --all`)" };
        var command = new Command(verb, active ? "Resume deliveries to a webhook" : "Pause deliveries to a webhook (it stays registered)") { id };
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("set_webhook_active", new JsonObject { ["webhook_id"] = IdNode(run.Get(id)!), ["active"] = active });
            return Outcome(run, result, $"Webhook #{run.Get(id)} {verb}d");
        });
        return command;
    }

    private static Command Unregister(CliContext context)
    {
        var id = new Argument<string>("webhook_id") { Description = "The webhook's id" };
        var command = new Command("unregister", "Remove a webhook") { id };
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("unregister_webhook", new JsonObject { ["webhook_id"] = IdNode(run.Get(id)!) });
            return Outcome(run, result, $"Webhook #{run.Get(id)} removed");
        });
        return command;
    }

    private static Command Deliveries(CliContext context)
    {
        var webhook = new Option<string?>("--webhook") { Description = "Only this webhook's deliveries" };
        var status = new Option<string?>("--status") { Description = "Only deliveries in this status (e.g. pending, failed, delivered)" };
        var limit = new Option<int?>("--limit") { Description = "Most deliveries to show" };
        var command = new Command("deliveries", "Show the delivery log: each attempt's status, response code and error") { webhook, status, limit };
        command.SetAction(context, async run =>
        {
            var arguments = new JsonObject();
            if (run.Get(webhook) is { } w)
            {
                arguments["webhook_id"] = IdNode(w);
            }

            PublishCommand.Put(arguments, "status", run.Get(status));
            if (run.Get(limit) is { } n)
            {
                arguments["limit"] = n;
            }

            var result = await run.CallAsync("list_deliveries", arguments);
            if (run.Json || SessionCommands.ErrorOf(result) is not null)
            {
                return SessionCommands.ResultOrError(run, result);
            }

            var rows = result.ValueKind == JsonValueKind.Array ? result
                : result.ValueKind == JsonValueKind.Object && result.TryGetProperty("deliveries", out var d) ? d : default;
            if (rows.ValueKind != JsonValueKind.Array || rows.GetArrayLength() == 0)
            {
                await run.Out.WriteLineAsync("No deliveries");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Deliveries ({rows.GetArrayLength()}):\n");
            foreach (var row in rows.EnumerateArray())
            {
                await run.Out.WriteLineAsync(
                    $"  #{SessionCommands.Text(row, "delivery_id")}  webhook #{SessionCommands.Text(row, "webhook_id")}  event {SessionCommands.Text(row, "event_id")}  {SessionCommands.Text(row, "status")}");
                foreach (var (key, value) in row.EnumerateObject().Select(p => (p.Name, p.Value)))
                {
                    if (key is "delivery_id" or "webhook_id" or "event_id" or "status" || value.ValueKind is JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array)
                    {
                        continue;
                    }

                    await run.Out.WriteLineAsync($"      {key}: {(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText())}");
                }

                // Each attempt: when, the receiver's answer (or the error), how long it took.
                if (row.TryGetProperty("attempt_log", out var attempts) && attempts.ValueKind == JsonValueKind.Array)
                {
                    foreach (var attempt in attempts.EnumerateArray())
                    {
                        var answer = attempt.TryGetProperty("status_code", out var code) && code.ValueKind == JsonValueKind.Number
                            ? $"HTTP {code.GetInt32()}"
                            : "no response";
                        var error = SessionCommands.Text(attempt, "error") ?? "";
                        var took = SessionCommands.Text(attempt, "duration_ms") ?? "";
                        await run.Out.WriteLineAsync(
                            $"      attempt {SessionCommands.Text(attempt, "attempt")} at {SessionCommands.Text(attempt, "at")}: {answer}" +
                            (error.Length > 0 ? $" ({error})" : "") + (took.Length > 0 ? $", {took} ms" : ""));
                    }
                }

                await run.Out.WriteLineAsync();
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command Redeliver(CliContext context)
    {
        var id = new Argument<string>("delivery_id") { Description = "The delivery to send again (see `eventbus webhook deliveries`)" };
        var command = new Command("redeliver", "Queue a delivery to be sent again") { id };
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("redeliver", new JsonObject { ["delivery_id"] = IdNode(run.Get(id)!) });
            return Outcome(run, result, $"Delivery #{run.Get(id)} queued again");
        });
        return command;
    }

    /// <summary>A success line, or "Failed: error" on stderr and exit 1 (the old CLI's unregister output).</summary>
    private static int Outcome(Invocation run, JsonElement result, string text)
    {
        var success = !(result.ValueKind == JsonValueKind.Object && result.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.False)
            && SessionCommands.ErrorOf(result) is null;
        if (run.Json)
        {
            run.WriteJson(result);
        }
        else if (success)
        {
            run.Out.WriteLine(text);
        }
        else
        {
            run.Error.WriteLine($"Failed: {SessionCommands.ErrorOf(result) ?? "Unknown error"}");
        }

        return success ? CliApp.Ok : CliApp.Failed;
    }

    /// <summary>Ids are numbers in the contract; anything else is passed as a string for the bus to judge.</summary>
    private static JsonNode IdNode(string id) => long.TryParse(id, out var n) ? JsonValue.Create(n) : JsonValue.Create(id);
}
