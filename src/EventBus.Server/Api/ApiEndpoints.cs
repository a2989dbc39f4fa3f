using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Server.Limits;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EventBus.Server.Api;

/// <summary>
/// The REST and SSE API under <c>/api/v1</c>: the same bus rules as the MCP tools (publish, read, stream), for scripts,
/// dashboards and anything that speaks plain HTTP. Errors are RFC 9457 problem details.
/// </summary>
internal static class ApiEndpoints
{
    /// <summary>Most events one batch may hold.</summary>
    public const int MaxBatchSize = 1000;

    /// <summary>
    /// Problem details for the answers routing gives before a handler runs (415 wrong Content-Type, 404, 405), so every
    /// error under <c>/api</c> has the same shape.
    /// </summary>
    public static IServiceCollection AddApi(this IServiceCollection services) =>
        services.AddSingleton(sp => new ServerStart(sp.GetRequiredService<TimeProvider>().GetUtcNow()))
            .AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
            {
                context.ProblemDetails.Detail ??=
                    "Send the body with Content-Type: application/json (or application/x-ndjson for a batch).";
            }
        });

    public static RouteGroupBuilder MapApi(this WebApplication app)
    {
        // Uptime counts from here (start-up), not from the first request that asks.
        _ = app.Services.GetRequiredService<ServerStart>();
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/api"), api => api.UseStatusCodePages());
        return app.MapApiEndpoints();
    }

    private static RouteGroupBuilder MapApiEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/v1").WithTags("Events");
        // Bad input anywhere in the bus rules is a 400 whose detail is the bus's own message.
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (BusValidationException ex)
            {
                return ApiProblems.BadRequest(ex.Message);
            }
        });

        group.MapPost("/events", PublishAsync)
            .WithName("PublishEvent")
            .WithSummary("Publish one event")
            .WithDescription("Stores the event and returns after it is committed. Same fields and rules as the MCP publish_event tool.")
            .Accepts<PublishRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/events:batch", PublishBatchAsync)
            .WithName("PublishEventBatch")
            .WithSummary("Publish several events in one transaction")
            .WithDescription(
                $"The body is a JSON array of publish objects (application/json) or NDJSON (application/x-ndjson, one object " +
                $"per line, blank lines ignored), at most {MaxBatchSize} events. Every item is validated first: if any is bad, " +
                "nothing is stored and the problem names the item. Otherwise all are stored in one transaction, with consecutive ids.")
            .Accepts<PublishRequest[]>("application/json", "application/x-ndjson")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapGet("/events", GetEventsAsync)
            .WithName("GetEvents")
            .WithSummary("Read a page of events")
            .WithDescription(
                "With a cursor: the oldest events after it (up to limit), sorted by order. Without: the newest (order=desc, " +
                "the default) or the oldest (order=asc). Keep reading from next_cursor while has_more is true. channel (exact), " +
                "correlation_id (a thread) and from (the publishing session_id) narrow the read.")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapGet("/stream", EventStreamEndpoint.StreamAsync)
            .WithName("StreamEvents")
            .WithSummary("Follow events as server-sent events")
            .WithDescription(
                "Replays the stored events after the cursor (or after the Last-Event-ID header, which wins), then follows " +
                "new ones live; without either it starts at the newest event (live only). Each event is `id: <id>`, " +
                "`event: <event_type>`, `data: <event JSON>`. A `: keepalive` comment is sent when idle.")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapSessions();
        group.MapChannels();
        group.MapWebhooks();
        group.MapInfo();
        return group;
    }

    private static async Task<Results<Created<PublishReply>, ProblemHttpResult>> PublishAsync(
        HttpRequest request, BusService bus, Security.SessionAccess access, CallerLimits limits, CancellationToken cancellationToken)
    {
        if (limits.TryPublish(request.HttpContext) is { } refusal)
        {
            return LimitReplies.Problem(request.HttpContext, refusal);
        }

        var body = await ApiRequestReader.ReadJsonAsync(request, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var publish = ApiRequestReader.ToPublishRequest(body.Json);
        if (await RefuseImpersonationAsync(request.HttpContext, access, [publish.SessionId], cancellationToken) is { } refused)
        {
            return refused;
        }

        var reply = await bus.PublishAsync(publish, cancellationToken);
        return TypedResults.Created(EventLocation(reply.EventId), reply);
    }

    private static async Task<Results<Created<BatchReply>, ProblemHttpResult>> PublishBatchAsync(
        HttpRequest request, BusService bus, Security.SessionAccess access, CallerLimits limits, CancellationToken cancellationToken)
    {
        var batch = await ApiRequestReader.ReadBatchAsync(request, MaxBatchSize, cancellationToken);
        if (batch.Problem is { } problem)
        {
            return problem;
        }

        // Validate everything before storing anything: one bad item refuses the whole batch.
        var requests = new List<PublishRequest>(batch.Items.Count);
        foreach (var item in batch.Items)
        {
            try
            {
                requests.Add(ApiRequestReader.ToPublishRequest(item.Json));
            }
            catch (BusValidationException ex)
            {
                return ApiProblems.BadRequest($"{item.Name}: {ex.Message}");
            }
        }

        var prepared = bus.PrepareBatch(requests, i => batch.Items[i].Name);
        if (await RefuseImpersonationAsync(request.HttpContext, access, prepared.SessionIds, cancellationToken) is { } refused)
        {
            return refused;
        }

        // A batch weighs as many permits as it holds events (known only once it is read and valid).
        if (limits.TryPublish(request.HttpContext, prepared.Count) is { } refusal)
        {
            return LimitReplies.Problem(request.HttpContext, refusal);
        }

        var replies = await bus.PublishBatchAsync(prepared, cancellationToken);
        var location = replies.Count > 0
            ? $"/api/v1/events?cursor={replies[0].EventId - 1}&limit={replies.Count}&order=asc"
            : "/api/v1/events";
        return TypedResults.Created(location, new BatchReply(replies, replies.Count));
    }

    /// <summary>A publish names a session_id: the caller must own it (or be admin, or name none: "anonymous").</summary>
    private static async Task<ProblemHttpResult?> RefuseImpersonationAsync(
        HttpContext context, Security.SessionAccess access, IEnumerable<string?> sessionIds, CancellationToken cancellationToken)
    {
        var caller = Security.Caller.Of(context);
        if (caller.IsAdmin)
        {
            return null;
        }

        foreach (var sessionId in sessionIds)
        {
            if (sessionId is { Length: > 0 } id && id != "anonymous" && await access.CheckAsync(caller, id, cancellationToken) is { } refused)
            {
                return TypedResults.Problem(detail: refused, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
            }
        }

        return null;
    }

    private static async Task<Results<Ok<EventsReply>, ProblemHttpResult>> GetEventsAsync(
        HttpContext context,
        BusService bus,
        [FromQuery] string? cursor,
        [FromQuery] string? channel,
        [FromQuery] string? limit,
        [FromQuery] string? order,
        [FromQuery(Name = "correlation_id")] string? correlationId,
        [FromQuery] string? from,
        CancellationToken cancellationToken)
    {
        var request = new GetEventsRequest(cursor, ApiRequestReader.ParseLimit(limit), Order: order, Channel: channel, CorrelationId: correlationId)
        {
            VisibleToToken = Security.Caller.Of(context).DirectMessageFilter,
            From = from,
        };
        // Without a session the read cannot be refused (no session to be missing or deleted).
        return TypedResults.Ok((await bus.GetEventsAsync(request, cancellationToken)).Expect());
    }

    /// <summary>Where one stored event can be read back.</summary>
    private static string EventLocation(long id) => $"/api/v1/events?cursor={id - 1}&limit=1";
}

/// <summary>A batch's result: the stored events in order, and how many.</summary>
internal sealed record BatchReply(IReadOnlyList<PublishReply> Events, int Count);

/// <summary>The problem details this API answers with.</summary>
internal static class ApiProblems
{
    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");

    /// <summary>A body that is not UTF-8: refused, never repaired.</summary>
    public static ProblemHttpResult NotUtf8(int offset) =>
        BadRequest($"Invalid text: {TextRules.NotUtf8(offset)}. Send UTF-8; nothing was stored.");

    public static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large");
}
