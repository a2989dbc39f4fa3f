using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp;

/// <summary>
/// <c>POST/GET/DELETE /mcp</c>: the Streamable HTTP binding on ModelContextProtocol.Core's transport.
/// POSTs go through the SDK (stateful by <c>Mcp-Session-Id</c>, or stateless for a session-less request that is
/// not <c>initialize</c>), except <c>tools/call</c>, which <see cref="McpToolDispatcher"/> answers directly;
/// the GET stream is ours, so clients can drop and reopen it.
/// </summary>
internal sealed partial class McpHttpHandler(
    McpSessionStore sessions,
    McpToolDispatcher tools,
    Events.McpEventsHandler events,
    Push.PushService push,
    Limits.CallerLimits limits,
    Resume.PostStreamResumer resumer,
    IOptions<Hosting.ServerOptions> serverOptions,
    IOptions<McpHttpOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<McpHttpHandler> logger)
{
    public const string SessionHeader = "Mcp-Session-Id";
    public const string ProtocolVersionHeader = "MCP-Protocol-Version";

    /// <summary>Revisions whose <c>MCP-Protocol-Version</c> header we accept.</summary>
    public static readonly IReadOnlyList<string> ProtocolVersions = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

    public async Task PostAsync(HttpContext context)
    {
        if (!Accepts(context.Request, "application/json") || !Accepts(context.Request, "text/event-stream"))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status406NotAcceptable, JsonRpcReplies.ServerError,
                "Not Acceptable: the Accept header must include both application/json and text/event-stream.");
            return;
        }

        if (context.Request.ContentType is { } contentType &&
            !(MediaTypeHeaderValue.TryParse(contentType, out var type) && type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, JsonRpcReplies.ServerError,
                $"Unsupported Media Type: send the JSON-RPC message as application/json (got \"{contentType}\").");
            return;
        }

        if (await McpRequestBody.ReadAsync(context) is not { } post)
        {
            return;
        }

        var (message, body) = post;

        // Newer clients probe revision 2026-07-28 first; a plain "method not found" makes them fall back to
        // initialize with 2025-11-25, the revision that still has the GET stream push needs.
        if (message is JsonRpcRequest { Method: "server/discover" } discover)
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status200OK, JsonRpcReplies.MethodNotFound,
                "Method not found: server/discover. This server negotiates with initialize (protocol 2025-11-25).", discover.Id);
            return;
        }

        if (!await CheckProtocolVersionAsync(context))
        {
            return;
        }

        var sessionId = context.Request.Headers[SessionHeader].ToString();
        if (message is JsonRpcRequest { Method: "tools/call" } call)
        {
            await DirectAsync(context, sessionId, s => tools.HandleAsync(context, call, body, s));
            return;
        }

        // tools/list answers with the tools the caller's token may call, so it is ours too (see McpToolDispatcher).
        if (message is JsonRpcRequest { Method: "tools/list" } list)
        {
            await DirectAsync(context, sessionId, _ => tools.ListAsync(context, list));
            return;
        }

        // The MCP Events extension (draft): poll, push and the list, over the bus log (Mcp/Events).
        if (message is JsonRpcRequest eventsRequest && Events.McpEventsHandler.Handles(eventsRequest.Method))
        {
            await DirectAsync(context, sessionId, s => events.HandleAsync(context, eventsRequest, s));
            return;
        }

        if (string.IsNullOrEmpty(sessionId))
        {
            if (message is JsonRpcRequest { Method: "initialize" })
            {
                if (limits.TryOpenSession(context, out var slot) is { } refusal)
                {
                    await Limits.LimitReplies.WriteJsonRpcAsync(context, refusal, ((JsonRpcRequest)message).Id);
                    return;
                }

                var created = sessions.Create(slot);
                if (created is null)
                {
                    slot.Dispose();
                    await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, JsonRpcReplies.ServerError,
                        $"Too many MCP sessions are open (EventBus:Mcp:MaxSessions = {options.Value.MaxSessions}); try again later.");
                    return;
                }

                var opener = Security.Caller.Of(context);
                created.TokenId = opener.TokenId;
                created.Caller = opener;
                await RunPostAsync(context, created, message);
                return;
            }

            await RunStatelessAsync(context, message);
            return;
        }

        if (await OwnSessionAsync(context, sessionId) is not { } session)
        {
            return;
        }

        await RunPostAsync(context, session, message);
    }

    public async Task GetAsync(HttpContext context)
    {
        if (!Accepts(context.Request, "text/event-stream"))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status406NotAcceptable, JsonRpcReplies.ServerError,
                "Not Acceptable: the Accept header must include text/event-stream.");
            return;
        }

        var sessionId = context.Request.Headers[SessionHeader].ToString();
        if (string.IsNullOrEmpty(sessionId))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.ServerError,
                "Bad Request: the GET stream belongs to a session; send the Mcp-Session-Id header returned by initialize.");
            return;
        }

        if (!await CheckProtocolVersionAsync(context))
        {
            return;
        }

        if (await OwnSessionAsync(context, sessionId) is not { } session)
        {
            return;
        }

        // SEP-1699 polling: a Last-Event-ID naming a POST stream the server ended before its answer resumes that stream.
        // Any other id (an event id, or a POST stream id the session does not hold) is the session's GET stream, as always.
        var lastEventId = context.Request.Headers["Last-Event-ID"].ToString();
        if (McpSse.IsPostStreamId(lastEventId) && session.Pending.TryClaim(lastEventId, out var claim) is { } pending)
        {
            await resumer.ServeAsync(context, session, pending, claim);
            return;
        }

        if (limits.TryOpenStream(context, out var streamSlot) is { } refusal)
        {
            await Limits.LimitReplies.WriteJsonRpcAsync(context, refusal);
            return;
        }

        using var held = streamSlot;
        var stream = new SessionEventStream(options.Value.StreamQueueCapacity, context.Abort)
        {
            ResendBytes = options.Value.StreamResendBytes,
            ResumeAfter = EventBus.Core.Events.Cursor.TryParse(lastEventId, out var last) ? last : null,
        };
        if (!session.TryAttach(stream))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status409Conflict, JsonRpcReplies.ServerError,
                "Conflict: this session already has an open GET stream; close it before opening another.");
            return;
        }

        try
        {
            // A bound session first receives what it missed since its push cursor, then live events.
            push.Attach(session);
            Limits.KestrelLimits.ForStream(context, serverOptions.Value.Limits, options.Value.StreamStallTimeout);
            context.Response.Headers[SessionHeader] = session.Id;
            PrepareEventStream(context);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(
                context.RequestAborted, lifetime.ApplicationStopping, session.Closed);
            await stream.PumpAsync(
                context.Response.Body, time, options.Value.KeepAliveInterval, options.Value.StreamStallTimeout, stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away, the session closed, or the server is stopping: all normal ends of a stream.
        }
        finally
        {
            session.Detach(stream);
            stream.Complete();
            if (stream.WasCutOff)
            {
                LogCutOff(logger, session.Id);
            }
        }
    }

    public async Task DeleteAsync(HttpContext context)
    {
        var sessionId = context.Request.Headers[SessionHeader].ToString();
        if (string.IsNullOrEmpty(sessionId))
        {
            await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.ServerError,
                "Bad Request: send the Mcp-Session-Id header of the session to close.");
            return;
        }

        if (sessions.TryGet(sessionId, out var owned) && await RefusedAsForeignAsync(context, owned))
        {
            return;
        }

        if (!await sessions.CloseAsync(sessionId, "deleted by client"))
        {
            await SessionNotFoundAsync(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>A request the binding answers itself: stateless, or within its session (which must be the caller's).</summary>
    private async Task DirectAsync(HttpContext context, string sessionId, Func<McpHttpSession?, Task> answer)
    {
        if (string.IsNullOrEmpty(sessionId))
        {
            await answer(null);
            return;
        }

        if (await OwnSessionAsync(context, sessionId) is not { } session)
        {
            return;
        }

        context.Response.Headers[SessionHeader] = session.Id;
        using var scope = session.BeginRequest();
        await answer(session);
    }

    private async Task RunPostAsync(HttpContext context, McpHttpSession session, JsonRpcMessage message)
    {
        context.Response.Headers[SessionHeader] = session.Id;
        using var scope = session.BeginRequest();
        if (message is JsonRpcRequest)
        {
            await StartPostStreamAsync(context);
        }

        var wrote = await session.Transport.HandlePostRequestAsync(message, context.Response.Body, context.RequestAborted);
        Accepted(context, wrote);
    }

    private async Task RunStatelessAsync(HttpContext context, JsonRpcMessage message)
    {
        var (transport, server) = sessions.CreateStateless();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var run = server.RunAsync(stop.Token);
        try
        {
            if (message is JsonRpcRequest)
            {
                PrepareEventStream(context);
            }

            var wrote = await transport.HandlePostRequestAsync(message, context.Response.Body, stop.Token);
            Accepted(context, wrote);
        }
        finally
        {
            await stop.CancelAsync();
            await transport.DisposeAsync();
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
                // The throwaway server stops by cancellation.
            }

            await server.DisposeAsync();
        }
    }

    /// <summary>A POST that carried only a notification or a response writes nothing: 202 with no content type.</summary>
    private static void Accepted(HttpContext context, bool wrote)
    {
        if (!wrote && !context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            context.Response.ContentType = null;
            context.Response.Headers.CacheControl = default;
        }
    }

    /// <summary>A session's POST carrying a request is answered as an event stream that opens with the priming event.</summary>
    private Task StartPostStreamAsync(HttpContext context)
    {
        PrepareEventStream(context);
        return context.Response.Body.WriteAsync(McpSse.Priming(McpSse.NextPostStreamId(), options.Value.RetryInterval), context.RequestAborted).AsTask();
    }

    internal static void PrepareEventStream(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache, no-store";
        // Tells proxies (nginx) not to buffer either.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    private static async Task<bool> CheckProtocolVersionAsync(HttpContext context)
    {
        var version = context.Request.Headers[ProtocolVersionHeader].ToString();
        if (string.IsNullOrEmpty(version) || ProtocolVersions.Contains(version))
        {
            return true;
        }

        await JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status400BadRequest, JsonRpcReplies.ServerError,
            $"Bad Request: unsupported MCP-Protocol-Version \"{version}\"; supported: {string.Join(", ", ProtocolVersions)}.");
        return false;
    }

    /// <summary>The session with this id, if it exists (else 404) and the request's token opened it (else 403).</summary>
    private async Task<McpHttpSession?> OwnSessionAsync(HttpContext context, string sessionId)
    {
        if (!sessions.TryGet(sessionId, out var session))
        {
            await SessionNotFoundAsync(context);
            return null;
        }

        return await RefusedAsForeignAsync(context, session) ? null : session;
    }

    /// <summary>An MCP session is usable only with the token that opened it: answers 403 and returns true otherwise.</summary>
    private static async Task<bool> RefusedAsForeignAsync(HttpContext context, McpHttpSession session)
    {
        if (session.TokenId == Security.Caller.Of(context).TokenId)
        {
            return false;
        }

        await Security.AuthGate.RefuseAsync(context, StatusCodes.Status403Forbidden, null,
            "Forbidden: this MCP session was opened with another token; initialize your own session.");
        return true;
    }

    private static Task SessionNotFoundAsync(HttpContext context) =>
        // -32001 is what the TypeScript SDK uses; clients answer a 404 by initializing a new session.
        JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status404NotFound, -32001,
            "Session not found: it expired or was closed. Send initialize without Mcp-Session-Id to start a new one.");

    private static bool Accepts(HttpRequest request, string mediaType)
    {
        var accept = request.GetTypedHeaders().Accept;
        foreach (var value in accept)
        {
            var type = value.MediaType.Value;
            if (type is null)
            {
                continue;
            }

            if (type.Equals(mediaType, StringComparison.OrdinalIgnoreCase) || type == "*/*" ||
                (type.EndsWith("/*", StringComparison.Ordinal) &&
                 mediaType.StartsWith(type[..^1], StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning,
        Message = "MCP session {SessionId}: GET stream cut off because its reader stopped reading")]
    private static partial void LogCutOff(ILogger logger, string sessionId);
}
