using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;
using EventBus.Server.Webhooks;

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
            if (code == CliApp.Ok && !run.Json && Reply.Read(result, CliJson.Default.RegisterWebhookReply).WebhookId is { } id)
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

            var webhooks = Reply.Read(result, CliJson.Default.ListWebhookReply);
            if (webhooks.Count == 0)
            {
                await run.Out.WriteLineAsync("No webhooks registered");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Webhooks ({webhooks.Count}):\n");
            foreach (var wh in webhooks)
            {
                var secret = wh.HasSecret ? " 🔐" : "";
                await run.Out.WriteLineAsync($"  [{(wh.Active ? "✓" : "✗")}] #{wh.WebhookId}{secret}");
                await run.Out.WriteLineAsync($"      URL: {wh.Url}");
                if (wh.Channel is { Length: > 0 } channel)
                {
                    await run.Out.WriteLineAsync($"      Channel: {channel}");
                }

                if (wh.EventTypes is { Count: > 0 } types)
                {
                    await run.Out.WriteLineAsync($"      Events: {string.Join(", ", types)}");
                }

                await run.Out.WriteLineAsync($"      Created: {wh.CreatedAt}");
                if (wh.OldestPendingAgeSeconds is { } age)
                {
                    // Only when something waits (the old CLI's lines are unchanged otherwise): a stuck endpoint shows here.
                    await run.Out.WriteLineAsync(
                        $"      Pending: {wh.PendingDeliveries} (the oldest waiting {FormattableString.Invariant($"{age:0}")} s)");
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

            // Older servers answered with the bare list.
            var rows = result.ValueKind == JsonValueKind.Array
                ? Reply.Read(result, CliJson.Default.ListDeliveryReply)
                : Reply.Read(result, CliJson.Default.DeliveriesReply).Deliveries ?? [];
            if (rows.Count == 0)
            {
                await run.Out.WriteLineAsync("No deliveries");
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync($"Deliveries ({rows.Count}):\n");
            foreach (var row in rows)
            {
                await run.Out.WriteLineAsync($"  #{row.DeliveryId}  webhook #{row.WebhookId}  event {row.EventId}  {row.Status}");
                foreach (var (key, value) in Details(row))
                {
                    if (value is not null)
                    {
                        await run.Out.WriteLineAsync($"      {key}: {value}");
                    }
                }

                // Each attempt: when, the receiver's answer (or the error), how long it took.
                foreach (var attempt in row.AttemptLog ?? [])
                {
                    var answer = attempt.StatusCode is { } code ? $"HTTP {code}" : "no response";
                    var error = attempt.Error ?? "";
                    var took = attempt.DurationMs.ToString(CultureInfo.InvariantCulture);
                    await run.Out.WriteLineAsync(
                        $"      attempt {attempt.Attempt} at {attempt.At}: {answer}" + (error.Length > 0 ? $" ({error})" : "") + $", {took} ms");
                }

                await run.Out.WriteLineAsync();
            }

            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>A delivery's other keys, in the order the bus writes them (absent ones are null and not shown).</summary>
    private static IEnumerable<(string Key, string? Value)> Details(DeliveryReply d) =>
    [
        ("event_type", d.EventType), ("channel", d.Channel), ("attempts", Invariant(d.Attempts)), ("created_at", d.CreatedAt),
        ("next_attempt_at", d.NextAttemptAt), ("last_attempt_at", d.LastAttemptAt), ("last_status_code", Invariant(d.LastStatusCode)),
        ("last_error", d.LastError), ("delivered_at", d.DeliveredAt),
    ];

    private static string? Invariant(int? value) => value?.ToString(CultureInfo.InvariantCulture);

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
        var success = !(result.ValueKind == JsonValueKind.Object && Reply.Read(result, CliJson.Default.SuccessReply).Success == false)
            && Reply.ErrorOf(result) is null;
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
