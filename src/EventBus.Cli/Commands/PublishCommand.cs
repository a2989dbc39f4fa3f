using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus publish</c>: one event from flags (the old CLI's command and output), or with <c>--stdin</c> one event
/// per input line, so any program that prints lines (<c>mosquitto_sub -v</c>, <c>tail -f</c>, a log shipper) feeds
/// the bus.
/// </summary>
internal static class PublishCommand
{
    public static Command Create(CliContext context)
    {
        var type = new Option<string?>("--type") { Description = "Event type (with --stdin: the type of every line that does not name its own; default \"message\")" };
        var payload = new Option<string?>("--payload") { Description = "Event payload" };
        var channel = new Option<string?>("--channel") { Description = "Target channel (default \"all\")" };
        var sessionId = CliOptions.SessionId();
        var title = new Option<string?>("--title") { Description = "A short headline for the payload" };
        var tags = new Option<string?>("--tags") { Description = "Comma-separated tags" };
        var correlationId = new Option<string?>("--correlation-id") { Description = "Thread id linking a request to its responses" };
        var signalLevel = new Option<string?>("--signal-level") { Description = "lifecycle, info or actionable (default: derived from the channel and type)" };
        signalLevel.AcceptOnlyFromAmong("lifecycle", "info", "actionable");
        var stdin = new Option<bool>("--stdin") { Description = "Publish one event per line of standard input: plain text, or a JSON object with event_type/payload/channel/…" };
        var fromTopic = new Option<string?>("--channel-from-topic")
        {
            Description = "With --stdin: each line is \"TOPIC PAYLOAD\" (as `mosquitto_sub -v` prints it); the channel is PREFIX+TOPIC",
            HelpName = "PREFIX",
        };

        var command = new Command("publish", "Publish an event (--type and --payload), or one per line of input (--stdin)")
        {
            type, payload, channel, sessionId, title, tags, correlationId, signalLevel, stdin, fromTopic,
        };
        command.SetAction(context, async run =>
        {
            var defaults = new JsonObject();
            Put(defaults, "channel", run.Get(channel));
            Put(defaults, "title", run.Get(title));
            if (run.Get(tags) is { Length: > 0 } list)
            {
                defaults["tags"] = new JsonArray([.. SplitList(list).Select(t => (JsonNode)t!)]);
            }

            Put(defaults, "correlation_id", run.Get(correlationId));
            Put(defaults, "signal_level", run.Get(signalLevel));

            if (run.Get(stdin))
            {
                if (run.Get(payload) is not null)
                {
                    throw new CliUsageException("--payload and --stdin do not go together: with --stdin each input line is a payload.");
                }

                Put(defaults, "event_type", run.Get(type) ?? "message");
                var publisher = new LinePublisher(run, defaults, await run.SessionIdAsync(sessionId), run.Get(fromTopic));
                return await publisher.RunAsync();
            }

            if (run.Get(fromTopic) is not null)
            {
                throw new CliUsageException("--channel-from-topic needs --stdin.");
            }

            var eventType = run.Get(type);
            var text = run.Get(payload);
            if (string.IsNullOrEmpty(eventType) || text is null)
            {
                throw new CliUsageException("publish needs --type and --payload (or --stdin to read events from standard input).");
            }

            var arguments = defaults.DeepClone().AsObject();
            arguments["event_type"] = eventType;
            arguments["payload"] = text;
            Put(arguments, "session_id", await run.SessionIdAsync(sessionId));
            var result = await run.CallAsync("publish_event", arguments);
            run.WriteResult(result);
            return CliApp.Ok;
        });
        return command;
    }

    internal static IEnumerable<string> SplitList(string list) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    internal static void Put(JsonObject target, string key, string? value)
    {
        if (value is not null)
        {
            target[key] = value;
        }
    }

    /// <summary>Publishes stdin line by line; waits for the bus (and keeps the line) while it is down.</summary>
    private sealed class LinePublisher(Invocation run, JsonObject defaults, string? sessionId, string? topicPrefix)
    {
        private static readonly string[] EventFields = ["event_type", "payload", "channel", "title", "tags", "correlation_id", "signal_level"];

        public async Task<int> RunAsync()
        {
            var lineNumber = 0;
            var failed = 0;
            while (await run.Context.In.ReadLineAsync(run.CancellationToken) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                JsonObject arguments;
                try
                {
                    arguments = ToArguments(line);
                }
                catch (CliUsageException ex)
                {
                    failed++;
                    await run.Error.WriteLineAsync($"eventbus: line {lineNumber}: {ex.Message}");
                    continue;
                }

                try
                {
                    var result = await PublishAsync(arguments);
                    if (run.Json)
                    {
                        run.WriteJson(result);
                    }
                    else
                    {
                        var published = Reply.Read(result, CliJson.Default.PublishReply);
                        await run.Out.WriteLineAsync($"[{published.EventId.ToString(CultureInfo.InvariantCulture)}] {published.EventType} ({published.Channel})");
                    }
                }
                catch (BusCallException ex)
                {
                    failed++;
                    await run.Error.WriteLineAsync($"eventbus: line {lineNumber}: {ex.Message}");
                }

                await run.Out.FlushAsync(run.CancellationToken);
            }

            return failed == 0 ? CliApp.Ok : CliApp.Failed;
        }

        private async Task<JsonElement> PublishAsync(JsonObject arguments)
        {
            var warned = false;
            var retry = new BusRetry(run.Context.Time, ex => ex is BusUnavailableException, async (ex, _) =>
            {
                if (!warned)
                {
                    await run.Error.WriteLineAsync($"{CliApp.BusDownMessage(run, (BusUnavailableException)ex)} (holding input and retrying)");
                    warned = true;
                }
            });
            var result = await retry.Pipeline.ExecuteAsync(async _ => await run.CallAsync("publish_event", arguments), run.CancellationToken);
            if (warned)
            {
                await run.Error.WriteLineAsync($"eventbus: the bus is back at {run.Endpoint.McpUrl}; publishing again.");
            }

            return result;
        }

        private JsonObject ToArguments(string line)
        {
            var arguments = defaults.DeepClone().AsObject();
            var body = line;
            if (topicPrefix is not null)
            {
                var space = line.IndexOf(' ');
                var topic = space < 0 ? line : line[..space];
                body = space < 0 ? "" : line[(space + 1)..];
                arguments["channel"] = topicPrefix + topic;
            }

            if (body.TrimStart().StartsWith('{') && TryParseObject(body) is { } json && EventFields.Any(json.ContainsKey))
            {
                // A JSON event: its own fields win over the flags (except the channel from the topic).
                foreach (var field in EventFields)
                {
                    if (json[field] is not { } value || (field == "channel" && topicPrefix is not null))
                    {
                        continue;
                    }

                    arguments[field] = field == "payload" && value.GetValueKind() != JsonValueKind.String
                        ? value.ToJsonString()
                        : value.DeepClone();
                }

                if (!json.ContainsKey("payload"))
                {
                    throw new CliUsageException("a JSON event needs a \"payload\".");
                }
            }
            else
            {
                arguments["payload"] = body;
            }

            PublishCommand.Put(arguments, "session_id", sessionId);
            return arguments;
        }

        private static JsonObject? TryParseObject(string text)
        {
            try
            {
                return JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
