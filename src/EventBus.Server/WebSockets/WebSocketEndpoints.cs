using System.Net.WebSockets;
using EventBus.Server.Mcp;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EventBus.Server.WebSockets;

/// <summary>
/// <c>GET /api/v1/ws</c>: the event stream over a WebSocket. It sits under <c>/api/v1</c>, so the Host/Origin guard and
/// the token gate apply exactly as to the SSE stream (a read token may follow; publishing needs the publish scope, checked
/// per message). The protocol is in <see cref="WebSocketConnection"/>.
/// </summary>
internal static partial class WebSocketEndpoints
{
    public const string Path = "/api/v1/ws";

    /// <summary>Maps the endpoint (the WebSocket middleware is installed once by the host, for <c>/mqtt</c> too).</summary>
    public static RouteHandlerBuilder MapWebSocketStream(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet(Path, (Delegate)AcceptAsync)
            .WithTags("Events")
            .WithName("EventWebSocket")
            .WithSummary("Follow and publish events over a WebSocket")
            .WithDescription("Send {\"subscribe\":{\"channel\":...,\"cursor\":...}}, then one JSON text frame per event (the same JSON as /api/v1/events); {\"publish\":{...}} and {\"ack\":\"<cursor>\",\"session_id\":...} are answered with {\"published\":...} / {\"acked\":...}.");

    /// <summary>The WebSocket options of the host: ping every keep-alive interval, cut a peer that answers no pong.</summary>
    public static WebSocketOptions HostOptions(McpHttpOptions mcp) => new()
    {
        KeepAliveInterval = mcp.KeepAliveInterval,
        KeepAliveTimeout = mcp.StreamStallTimeout,
    };

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return TypedResults.Problem(
                detail: $"{Path} is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket). For plain HTTP use /api/v1/stream (SSE).",
                statusCode: StatusCodes.Status426UpgradeRequired, title: "Upgrade Required");
        }

        var services = context.RequestServices;
        if (services.GetRequiredService<Limits.CallerLimits>().TryOpenStream(context, out var slot) is { } refusal)
        {
            return Limits.LimitReplies.Problem(context, refusal);
        }

        using var held = slot;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebSocketEndpoints).FullName!);
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var mcp = services.GetRequiredService<IOptions<McpHttpOptions>>().Value;
        using var connection = new WebSocketConnection(context, socket, mcp.StreamStallTimeout);
        LogOpened(logger);
        try
        {
            await connection.RunAsync(stop.Token);
            LogClosed(logger);
        }
        catch (Exception ex) when ((ex is OperationCanceledException && stop.IsCancellationRequested) || ex is WebSocketException or IOException)
        {
            // The client went away, was cut off for not reading, or the server is stopping: all normal ends.
            if (connection.Stalled)
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

    [LoggerMessage(EventId = 1400, Level = LogLevel.Debug, Message = "WebSocket stream opened")]
    private static partial void LogOpened(ILogger logger);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Debug, Message = "WebSocket stream closed")]
    private static partial void LogClosed(ILogger logger);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "WebSocket stream cut off because its reader stopped reading")]
    private static partial void LogCutOff(ILogger logger);
}
