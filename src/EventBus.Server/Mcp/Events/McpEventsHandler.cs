using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Core.Events;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp.Events;

/// <summary>
/// The MCP Events extension (draft) on <c>/mcp</c>: <c>events/list</c>, <c>events/poll</c>, <c>events/stream</c>, and
/// <c>events/subscribe</c>/<c>events/unsubscribe</c> (webhook delivery, <see cref="Webhooks.WebhookSubscriptions"/>) over the bus log, answered directly by the binding (like <c>tools/call</c>). The cursor is the bus cursor, so
/// poll and push resume from the store after a disconnect or a server restart. Who may read what is decided as for
/// get_events: the caller's scope, and its token's view of direct messages.
/// </summary>
internal sealed partial class McpEventsHandler(
    EventReplay replay,
    EventFollower follower,
    Webhooks.WebhookSubscriptions webhooks,
    Security.SessionAccess access,
    Limits.CallerLimits limits,
    IOptions<McpHttpOptions> options,
    IOptions<Hosting.ServerOptions> serverOptions,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<McpEventsHandler> logger)
{
    /// <summary>The delivery modes <c>bus.event</c> offers.</summary>
    public static readonly IReadOnlyList<string> Delivery = ["poll", "push", "webhook"];

    /// <summary>The interval a poll answer suggests when nothing more is waiting.</summary>
    public const int NextPollMs = 5000;

    /// <summary>The batch a poll returns when it gives no <c>maxEvents</c>, and the most it may ask for.</summary>
    public const int DefaultMaxEvents = 100;

    public const int MaxEvents = Core.Bus.BusOptions.MaxLimit;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static bool Handles(string method) => method.StartsWith("events/", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context, JsonRpcRequest request, McpHttpSession? session)
    {
        try
        {
            switch (request.Method)
            {
                case "events/list":
                    await WriteResultAsync(context, request.Id, json =>
                    {
                        json.WriteStartArray("events");
                        BusEventType.Describe(Delivery).WriteTo(json);
                        json.WriteEndArray();
                    });
                    break;
                case "events/poll":
                    await PollAsync(context, request);
                    break;
                case "events/stream":
                    await StreamAsync(context, request, session);
                    break;
                case "events/subscribe":
                    var subscribed = await webhooks.SubscribeAsync(context, request.Params, context.RequestAborted);
                    await WriteResultAsync(context, request.Id, json => WriteMembers(json, subscribed));
                    break;
                case "events/unsubscribe":
                    var unsubscribed = await webhooks.UnsubscribeAsync(context, request.Params, context.RequestAborted);
                    await WriteResultAsync(context, request.Id, json => WriteMembers(json, unsubscribed));
                    break;
                default:
                    await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status200OK, JsonRpcReplies.MethodNotFound,
                        $"Method not found: {request.Method}. The Events extension here has events/list, events/poll, events/stream, " +
                        "events/subscribe and events/unsubscribe.",
                        request.Id);
                    break;
            }
        }
        catch (EventsException ex) when (!context.Response.HasStarted)
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status200OK, ex.Code, ex.Message, request.Id, ex.ErrorData);
        }
    }

    private async Task PollAsync(HttpContext context, JsonRpcRequest request)
    {
        var subscription = Subscription.Parse(request.Params);
        var caller = Authorize(context);
        var maxEvents = subscription.MaxEvents ?? DefaultMaxEvents;
        var ct = context.RequestAborted;
        PollBatch batch;
        var truncated = false;
        if (subscription.Cursor is not { } cursor)
        {
            // A null cursor starts from now: no events, and the position to poll from next.
            batch = new PollBatch([], await replay.TipAsync(ct), false);
        }
        else
        {
            var filter = Filter(subscription.Arguments, caller);
            (var start, truncated) = await replay.StartAsync(cursor, subscription.MaxAge, filter, ct);
            batch = await replay.PollAsync(start, filter, maxEvents, ct);
        }

        await WriteResultAsync(context, request.Id, json =>
        {
            json.WriteStartArray("events");
            foreach (var e in batch.Events)
            {
                json.WriteStartObject();
                EventOccurrence.WriteMembers(json, e, null);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("cursor", Cursor.Format(batch.Cursor));
            json.WriteBoolean("truncated", truncated);
            json.WriteBoolean("hasMore", batch.HasMore);
            json.WriteNumber("nextPollMs", batch.HasMore ? 0 : NextPollMs);
        });
    }

    private async Task StreamAsync(HttpContext context, JsonRpcRequest request, McpHttpSession? session)
    {
        var subscription = Subscription.Parse(request.Params);
        var caller = Authorize(context);
        var filter = Filter(subscription.Arguments, caller);
        if (limits.TryOpenStream(context, out var slot) is { } refusal)
        {
            await Limits.LimitReplies.WriteJsonRpcAsync(context, refusal, request.Id);
            return;
        }

        using var held = slot;
        var stopping = session?.Closed ?? CancellationToken.None;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping, stopping);
        var (start, truncated) = subscription.Cursor is { } cursor
            ? await replay.StartAsync(cursor, subscription.MaxAge, filter, stop.Token)
            : (await replay.TipAsync(stop.Token), false);

        var mcp = options.Value;
        Limits.KestrelLimits.ForStream(context, serverOptions.Value.Limits, mcp.StreamStallTimeout);
        McpHttpHandler.PrepareEventStream(context);
        var id = request.Id;
        using var writer = new Limits.StallGuardedWriter(context.Response.Body, time, mcp.StreamStallTimeout, context.Abort);
        LogStreamOpened(logger, start, subscription.Arguments.Channel ?? "(all)");
        try
        {
            await writer.WriteAsync(McpSse.Priming(McpSse.NextPostStreamId(), mcp.RetryInterval), stop.Token);
            await writer.WriteAsync(Notification("notifications/events/active", id, json =>
            {
                json.WriteString("cursor", Cursor.Format(start));
                json.WriteBoolean("truncated", truncated);
            }), stop.Token);
            await writer.FlushAsync(stop.Token);
            await follower.FollowWithHeartbeatAsync(
                start,
                filter,
                async (events, ct) =>
                {
                    foreach (var e in events)
                    {
                        await writer.WriteAsync(Notification("notifications/events/event", id, json => EventOccurrence.WriteMembers(json, e, e.Id)), ct);
                    }

                    await writer.FlushAsync(ct);
                },
                mcp.KeepAliveInterval,
                async (position, ct) =>
                {
                    await writer.WriteAsync(Notification("notifications/events/heartbeat", id, json => json.WriteString("cursor", Cursor.Format(position))), ct);
                    await writer.FlushAsync(ct);
                },
                stop.Token);
        }
        catch (Exception ex) when ((ex is OperationCanceledException && stop.IsCancellationRequested) || ex is IOException)
        {
            // The client aborted (its way to unsubscribe), was cut off for not reading, or the server is ending the stream.
        }

        if (!context.RequestAborted.IsCancellationRequested && !writer.Stalled)
        {
            // The server ends the stream (stopping, or the MCP session closed): the final frame is the empty result.
            await WriteFinalAsync(context, id);
        }

        LogStreamClosed(logger);
    }

    private static async Task WriteFinalAsync(HttpContext context, RequestId id)
    {
        try
        {
            var frame = SseMessage.Build(json =>
            {
                json.WriteString("jsonrpc", "2.0");
                WriteId(json, id);
                json.WriteStartObject("result");
                json.WriteStartObject("_meta");
                json.WriteEndObject();
                json.WriteEndObject();
            });
            await context.Response.Body.WriteAsync(frame.WrittenMemory, CancellationToken.None);
            await context.Response.Body.FlushAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection went at the same moment: nothing left to tell.
        }
    }

    private static ReadOnlyMemory<byte> Notification(string method, RequestId id, Action<Utf8JsonWriter> writeParams) =>
        SseMessage.Notification(method, json =>
        {
            writeParams(json);
            json.WriteStartObject("_meta");
            json.WritePropertyName(EventOccurrence.SubscriptionIdKey);
            JsonSerializer.Serialize(json, id, McpJson.Options.GetTypeInfo(typeof(RequestId)));
            json.WriteEndObject();
        });

    /// <summary>Reading events needs what get_events needs; anything less is the draft's Forbidden.</summary>
    internal static Security.Caller Authorize(HttpContext context)
    {
        var caller = Security.Caller.Of(context);
        return Security.ToolScopes.Allows(caller, "get_events")
            ? caller
            : throw EventsException.Refused($"{caller.Describe()} may not read events (get_events needs the read scope).");
    }

    /// <summary>The subscription's events as this caller may see them: the same direct-message rules as get_events.</summary>
    private FollowFilter Filter(BusEventArguments arguments, Security.Caller caller) =>
        new(arguments.ExactChannel, caller.DirectMessageFilter, async (e, ct) => arguments.Wants(e) && await access.MaySeeAsync(caller, e.Channel, e.SessionId, ct));

    private static async Task WriteResultAsync(HttpContext context, RequestId id, Action<Utf8JsonWriter> writeResult)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            WriteId(json, id);
            json.WriteStartObject("result");
            writeResult(json);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void WriteMembers(Utf8JsonWriter json, JsonObject members)
    {
        foreach (var (key, value) in members)
        {
            json.WritePropertyName(key);
            if (value is null)
            {
                json.WriteNullValue();
            }
            else
            {
                value.WriteTo(json);
            }
        }
    }

    private static void WriteId(Utf8JsonWriter json, RequestId id)
    {
        json.WritePropertyName("id");
        JsonSerializer.Serialize(json, id, McpJson.Options.GetTypeInfo(typeof(RequestId)));
    }

    [LoggerMessage(EventId = 1900, Level = LogLevel.Debug, Message = "events/stream opened after event {Position} on channel {Channel}")]
    private static partial void LogStreamOpened(ILogger logger, long position, string channel);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Debug, Message = "events/stream closed")]
    private static partial void LogStreamClosed(ILogger logger);
}
