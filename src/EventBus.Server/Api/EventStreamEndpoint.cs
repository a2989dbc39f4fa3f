using System.Text;
using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Channels;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Server.Mcp;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace EventBus.Server.Api;

/// <summary>
/// <c>GET /api/v1/stream</c>: events as server-sent events. The store is the truth: each stream reads from its own
/// position and waits on <see cref="CommitSignal"/> for more, so a missed wake-up loses nothing and no events are
/// held in memory for slow readers. What was just committed is read from <see cref="RecentEvents"/> rather than
/// each stream querying the database on every commit. Each stream writes from its own request, so a client that stops
/// reading stalls only itself, and a write it takes nothing of for <c>EventBus:Mcp:StreamStallTimeout</c> cuts it off
/// (as MCP GET streams are); it resumes with <c>Last-Event-ID</c>.
/// </summary>
internal static partial class EventStreamEndpoint
{
    private static readonly byte[] KeepAliveFrame = ": keepalive\n\n"u8.ToArray();

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> StreamAsync(
        HttpContext context,
        IEventStore store,
        [FromQuery] string? cursor,
        [FromQuery] string? channel,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventId)
    {
        long? start = null;
        if (Cursor.TryParse(lastEventId, out var resumeAfter))
        {
            start = resumeAfter;
        }
        else if (cursor is not null)
        {
            start = Cursor.TryParse(cursor, out var after)
                ? after
                : throw new BusValidationException($"cursor must be the decimal string of an event id, like \"42\" (got \"{cursor}\").");
        }

        if (channel is not null)
        {
            CheckChannel(channel);
        }

        var services = context.RequestServices;
        var limits = services.GetRequiredService<Limits.CallerLimits>();
        if (limits.TryOpenStream(context, out var slot) is { } refusal)
        {
            return Limits.LimitReplies.Problem(context, refusal);
        }

        using var held = slot;
        var mcpOptions = services.GetRequiredService<IOptions<McpHttpOptions>>().Value;
        Limits.KestrelLimits.ForStream(context, services.GetRequiredService<IOptions<Hosting.ServerOptions>>().Value.Limits, mcpOptions.StreamStallTimeout);
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EventStreamEndpoint).FullName!);
        var time = services.GetRequiredService<TimeProvider>();
        using var writer = new Limits.StallGuardedWriter(context.Response.Body, time, mcpOptions.StreamStallTimeout, context.Abort);
        try
        {
            var position = start ?? await store.GetTipAsync(stop.Token);
            await StartAsync(context.Response, stop.Token);
            LogOpened(logger, position, channel ?? "(all)");
            if (services.GetRequiredService<BusService>().Truncation(position) is { } first)
            {
                // Retention deleted events after the position: say so once, before what is left.
                await writer.WriteAsync(Encoding.UTF8.GetBytes(
                    $"event: truncated\ndata: {{\"truncated\":true,\"first_available_cursor\":\"{first}\"}}\n\n"), stop.Token);
            }

            await PumpAsync(
                writer, services.GetRequiredService<EventFollower>(), mcpOptions.KeepAliveInterval,
                services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions,
                position, channel, Security.Caller.Of(context), services.GetRequiredService<Security.SessionAccess>(), stop.Token);
        }
        catch (Exception ex) when ((ex is OperationCanceledException && stop.IsCancellationRequested) || ex is IOException)
        {
            // The client went away, was cut off for not reading, or the server is stopping: all normal ends of a stream.
            if (writer.Stalled)
            {
                LogCutOff(logger);
            }
            else
            {
                LogClosed(logger);
            }
        }

        return TypedResults.Empty;
    }

    // The bus's own channel rules (get_events applies them too), checked before the stream starts.
    private static void CheckChannel(string channel) => ChannelName.Validate(channel);

    private static async Task StartAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Tells proxies (nginx) not to buffer either.
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>Replays from <paramref name="position"/>, then follows commits, until cancelled.</summary>
    private static Task PumpAsync(
        Limits.StallGuardedWriter writer, EventFollower follower, TimeSpan keepAlive, JsonSerializerOptions json, long position,
        string? channel, Security.Caller caller, Security.SessionAccess access, CancellationToken cancellationToken)
    {
        // Direct messages only to their recipient's and sender's tokens (and admins), when auth is on.
        var filter = new FollowFilter(channel, caller.DirectMessageFilter, (e, ct) => access.MaySeeAsync(caller, e.Channel, e.SessionId, ct));
        return follower.FollowAsync(
            position,
            filter,
            async (events, ct) =>
            {
                await writer.WriteAsync(Frames(events, json), ct);
                await writer.FlushAsync(ct);
            },
            keepAlive,
            async ct =>
            {
                await writer.WriteAsync(KeepAliveFrame, ct);
                await writer.FlushAsync(ct);
            },
            cancellationToken);
    }

    private static byte[] Frames(IReadOnlyList<BusEvent> events, JsonSerializerOptions json)
    {
        var text = new StringBuilder();
        foreach (var e in events)
        {
            // Event types and ids hold no control characters (the bus refuses them), and compact JSON has no newlines.
            text.Append("id: ").Append(Cursor.Format(e.Id)).Append('\n')
                .Append("event: ").Append(e.EventType).Append('\n')
                .Append("data: ").Append(JsonSerializer.Serialize(BusService.ToReply(e), json)).Append("\n\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Event stream opened after event {Position} on channel {Channel}")]
    private static partial void LogOpened(ILogger logger, long position, string channel);

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "Event stream closed")]
    private static partial void LogClosed(ILogger logger);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Event stream cut off because its reader stopped reading")]
    private static partial void LogCutOff(ILogger logger);
}
