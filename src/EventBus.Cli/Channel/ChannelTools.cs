using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using EventBus.Core.Events;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace EventBus.Cli.Channel;

/// <summary>
/// The channel's tools: the bus's own tools, proxied (the same names, schemas and results; <c>session_id</c>
/// defaults to the channel's session), and <c>reply</c>, which answers a channel message in one call.
/// </summary>
internal sealed partial class ChannelTools(BusClient client, ChannelPump pump, ChannelSettings settings, ILogger logger)
{
    public const string ReplyName = "reply";

    private static readonly string[] Unsafe = ["register_session"];
    private readonly Lock _gate = new();
    private IReadOnlyList<Tool>? _busTools;

    /// <summary>True when the last <c>tools/list</c> could not reach the bus (a list_changed follows once it can).</summary>
    public bool ListedWithoutBus { get; private set; }

    public async ValueTask<ListToolsResult> ListAsync(CancellationToken cancellationToken)
    {
        var tools = new List<Tool> { Reply() };
        var bus = await BusToolsAsync(cancellationToken);
        if (bus is not null)
        {
            tools.AddRange(bus);
        }

        ListedWithoutBus = bus is null;
        return new ListToolsResult { Tools = tools };
    }

    /// <summary>The bus's tool list (fetched once), or null while the bus cannot be reached.</summary>
    public async Task<IReadOnlyList<Tool>?> BusToolsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_busTools is { } cached)
            {
                return cached;
            }
        }

        try
        {
            var result = await client.RequestAsync("tools/list", null, settings.CallTimeout, cancellationToken);
            var list = result.Deserialize<ListToolsResult>(McpJsonUtilities.DefaultOptions)?.Tools ?? [];
            lock (_gate)
            {
                _busTools = list.ToList();
                return _busTools;
            }
        }
        catch (Exception ex) when (ex is BusUnavailableException or BusCallException or BusAuthException)
        {
            LogNoTools(logger, ex.Message);
            return null;
        }
    }

    public async ValueTask<CallToolResult> CallAsync(CallToolRequestParams request, CancellationToken cancellationToken)
    {
        var arguments = new JsonObject();
        foreach (var (key, value) in request.Arguments ?? new Dictionary<string, JsonElement>())
        {
            arguments[key] = JsonNode.Parse(value.GetRawText());
        }

        try
        {
            return request.Name == ReplyName
                ? await ReplyAsync(arguments, cancellationToken)
                : await ProxyAsync(request.Name, arguments, cancellationToken);
        }
        catch (BusUnavailableException ex)
        {
            return Error($"{ex.Message}. The channel reconnects on its own; try again in a moment.");
        }
        catch (Exception ex) when (ex is BusCallException or BusAuthException)
        {
            return Error($"{request.Name}: {ex.Message}");
        }
    }

    private async Task<CallToolResult> ProxyAsync(string name, JsonObject arguments, CancellationToken cancellationToken)
    {
        var tools = await BusToolsAsync(cancellationToken);
        var takesSession = tools?.FirstOrDefault(t => t.Name == name) is { } tool &&
            tool.InputSchema.Deserialize(CliJson.Default.ToolInputSchema)?.Properties?.ContainsKey("session_id") == true;
        // Every call acts as the channel's session unless it names another (unregister by client_id names its own).
        if (takesSession && !arguments.ContainsKey("session_id") && !(name == "unregister_session" && arguments.ContainsKey("client_id")) &&
            !Unsafe.Contains(name) && await SessionAsync(cancellationToken) is { } session)
        {
            arguments["session_id"] = session.SessionId;
        }

        // A long-poll (get_events with wait_seconds) may take that long on top of the usual call time.
        var timeout = settings.CallTimeout;
        if (arguments["wait_seconds"] is JsonValue wait && wait.TryGetValue<double>(out var seconds) && seconds > 0)
        {
            timeout += TimeSpan.FromSeconds(Math.Min(seconds, 300));
        }

        var raw = await client.RequestAsync("tools/call", new JsonObject { ["name"] = name, ["arguments"] = arguments }, timeout, cancellationToken);
        if (name is "subscribe" or "unsubscribe")
        {
            pump.InvalidateInterest();
        }

        return raw.Deserialize<CallToolResult>(McpJsonUtilities.DefaultOptions) ?? Error($"{name}: the bus sent an empty result.");
    }

    /// <summary>
    /// Publishes the answer to the sender of an event (directly, <c>session:&lt;sender&gt;</c>) or to its channel, in the
    /// event's thread (correlation id), then marks everything up to that event as read (answering is handling).
    /// </summary>
    private async Task<CallToolResult> ReplyAsync(JsonObject arguments, CancellationToken cancellationToken)
    {
        if (arguments["text"] is not JsonValue textValue || !textValue.TryGetValue<string>(out var text) || string.IsNullOrWhiteSpace(text))
        {
            return Error("reply needs \"text\": what to answer.");
        }

        if (await SessionAsync(cancellationToken) is not { } session)
        {
            return Error($"The channel has not reached the bus at {client.Endpoint.McpUrl} yet; try again in a moment.");
        }

        BusEvent? original;
        var eventIdText = arguments["event_id"]?.ToString();
        if (eventIdText is { Length: > 0 })
        {
            if (!long.TryParse(eventIdText, out var eventId) || eventId < 1)
            {
                return Error($"event_id must be the id of an event (the event_id of a channel message), like \"42\" (got \"{eventIdText}\").");
            }

            original = pump.Recent(eventId) ?? await FetchAsync(eventId, cancellationToken);
            if (original is null)
            {
                return Error($"There is no event {eventId} on the bus.");
            }
        }
        else
        {
            original = pump.LastDelivered;
            if (original is null)
            {
                return Error("No channel message has arrived yet; pass event_id, or use publish_event to start a conversation.");
            }
        }

        var to = arguments["to"]?.ToString() ?? "sender";
        if (to is not ("sender" or "channel"))
        {
            return Error($"to must be \"sender\" or \"channel\" (got \"{to}\").");
        }

        // Scripts and alert pipes publish without a session: they can only be answered on the event's channel.
        var hasSender = original.SessionId.Length > 0 && original.SessionId != session.SessionId && to == "sender" &&
            (await BusSession.DisplayIdsAsync(client, settings.CallTimeout, cancellationToken)).ContainsKey(original.SessionId);
        var channel = to == "sender" && hasSender ? Core.Channels.ChannelName.Direct(original.SessionId) : original.Channel;
        if (channel == Core.Channels.ChannelName.Direct(session.SessionId))
        {
            return Error($"Event {original.Id} came to you from \"{original.SessionId}\", which is not a live session on the bus, so there is nobody to answer directly; use publish_event on a channel they read.");
        }

        var publish = new JsonObject
        {
            ["event_type"] = arguments["event_type"]?.ToString() is { Length: > 0 } type ? type : "reply",
            ["payload"] = text,
            ["session_id"] = session.SessionId,
            ["channel"] = channel,
            ["correlation_id"] = original.CorrelationId ?? Core.Events.Cursor.Format(original.Id),
        };
        if (arguments["signal_level"]?.ToString() is { Length: > 0 } level)
        {
            publish["signal_level"] = level;
        }

        var published = await client.CallToolAsync("publish_event", publish, settings.CallTimeout, cancellationToken);
        if (EventJson.Error(published) is { } error)
        {
            return Error($"reply: {error}");
        }

        var ack = await client.CallToolAsync(
            "ack_events", new JsonObject { ["session_id"] = session.SessionId, ["cursor"] = Core.Events.Cursor.Format(original.Id) }, settings.CallTimeout, cancellationToken);
        var result = JsonNode.Parse(published.GetRawText())!.AsObject();
        result["in_reply_to"] = Core.Events.Cursor.Format(original.Id);
        var acked = Client.Reply.Read(ack, CliJson.Default.AckReply);
        result["read_through"] = acked.Success ? Core.Events.Cursor.Format(original.Id) : acked.Cursor;
        return Result(result);
    }

    private async Task<BusEvent?> FetchAsync(long id, CancellationToken cancellationToken)
    {
        var page = await client.CallToolAsync(
            "get_events", new JsonObject { ["cursor"] = Core.Events.Cursor.Format(id - 1), ["limit"] = 1, ["order"] = "asc" }, settings.CallTimeout, cancellationToken);
        return EventJson.Events(page).FirstOrDefault(e => e.Id == id);
    }

    /// <summary>The session, waiting briefly for the first registration when the channel has just started.</summary>
    private async Task<BusSession?> SessionAsync(CancellationToken cancellationToken)
    {
        if (pump.Session is { } session)
        {
            return session;
        }

        try
        {
            return await pump.FirstSession.WaitAsync(settings.CallTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private static Tool Reply() => new()
    {
        Name = ReplyName,
        Title = "Reply to a channel message",
        Description =
            """
            Answer an event that reached you as a <channel> message. By default the answer goes straight to its sender
            (channel "session:<sender>") in the same thread (correlation_id), and everything up to that event is marked
            read on your cursor, since answering is handling it. to="channel" answers on the event's channel instead
            (for example an alert channel). Without event_id it answers the latest channel message.
            """,
        InputSchema = JsonDocument.Parse(
            """
            {
              "type": "object",
              "properties": {
                "text": { "type": "string", "description": "Your answer." },
                "event_id": { "type": "string", "description": "The event_id of the message you answer (default: the latest one)." },
                "to": { "type": "string", "enum": ["sender", "channel"], "default": "sender", "description": "Answer the sender directly, or on the event's channel." },
                "event_type": { "type": "string", "default": "reply", "description": "The answer's event type, e.g. reply, task_completed, help_needed." },
                "signal_level": { "type": "string", "enum": ["lifecycle", "info", "actionable"], "description": "Optional explicit level (a direct answer is actionable by default)." }
              },
              "required": ["text"]
            }
            """).RootElement.Clone(),
        Annotations = new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = false },
    };

    private static CallToolResult Result(JsonObject value) => new()
    {
        Content = [new TextContentBlock { Text = value.ToJsonString() }],
        StructuredContent = JsonSerializer.SerializeToElement(new JsonObject { ["result"] = value.DeepClone() }),
    };

    private static CallToolResult Error(string message) => new()
    {
        Content = [new TextContentBlock { Text = message }],
        IsError = true,
    };

    [LoggerMessage(EventId = 720, Level = LogLevel.Warning, Message = "Could not read the bus's tools ({Reason}); offering reply only until it is back")]
    private static partial void LogNoTools(ILogger logger, string reason);
}
