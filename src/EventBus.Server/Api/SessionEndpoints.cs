using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Sessions;
using EventBus.Core.Store;
using EventBus.Server.Limits;
using EventBus.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EventBus.Server.Api;

/// <summary>
/// <c>/api/v1/sessions</c>: who is on the bus (live sessions and recently ended ones, with how far behind each reader is
/// and what it is subscribed to), one session, and registering one over REST (the dashboard speaks as a session it owns).
/// </summary>
internal static class SessionEndpoints
{
    /// <summary>Unread counts stop here ("10000+"): counting a million unread rows to show one number buys nothing.</summary>
    public const int UnreadCap = 10_000;

    /// <summary>Ended sessions shown by default, and at most.</summary>
    private const int DefaultEndedWithinMinutes = 60;
    private const int MaxEndedWithinMinutes = 7 * 24 * 60;
    private const int MaxEnded = 100;

    public static RouteGroupBuilder MapSessions(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/sessions").WithTags("Sessions");
        group.MapGet("", ListAsync)
            .WithName("ListSessions")
            .WithSummary("Live sessions and recently ended ones")
            .WithDescription(
                "Live sessions (most recent heartbeat first), then sessions that ended within ended_within_minutes (default " +
                $"{DefaultEndedWithinMinutes}, 0 for none, at most {MaxEndedWithinMinutes}; the newest {MaxEnded}). Each has its " +
                $"subscriptions and unread: the events after its saved cursor, counted up to {UnreadCap} (unread_capped says when " +
                "there are more). client_id is shown only to a caller that may act as the session.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{sessionId}", GetAsync)
            .WithName("GetSession")
            .WithSummary("One session, live or ended")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("", RegisterAsync)
            .WithName("RegisterSession")
            .WithSummary("Register (or resume) a session")
            .WithDescription(
                "The register_session tool over REST: {name, machine?, cwd?, client_id?}. The same (machine, client_id) resumes " +
                "the session. Under tokens the session belongs to the caller's token (publish scope), which may then publish as it.")
            .Accepts<RegisterSessionRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return group;
    }

    private static async Task<Ok<SessionsView>> ListAsync(
        HttpContext context, IEventStore store, IBusOverview overview, TimeProvider time,
        [FromQuery(Name = "ended_within_minutes")] string? endedWithinMinutes, CancellationToken cancellationToken)
    {
        var minutes = ParseMinutes(endedWithinMinutes);
        var actor = Caller.Of(context).Actor;
        var live = await store.ListLiveSessionsAsync(cancellationToken);
        var ended = minutes == 0
            ? []
            : await overview.ListEndedSessionsAsync(time.GetUtcNow().AddMinutes(-minutes), MaxEnded, cancellationToken);
        var tip = await store.GetTipAsync(cancellationToken);
        var views = new List<SessionView>(live.Count + ended.Count);
        foreach (var session in live.Concat(ended))
        {
            views.Add(await ViewAsync(session, actor, tip, store, overview, time, cancellationToken));
        }

        return TypedResults.Ok(new SessionsView(views, live.Count, ended.Count));
    }

    private static async Task<Results<Ok<SessionView>, ProblemHttpResult>> GetAsync(
        HttpContext context, string sessionId, IEventStore store, IBusOverview overview, TimeProvider time, CancellationToken cancellationToken)
    {
        var session = await store.GetSessionAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return TypedResults.Problem($"No session {sessionId} on this bus.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
        }

        var tip = await store.GetTipAsync(cancellationToken);
        return TypedResults.Ok(await ViewAsync(session, Caller.Of(context).Actor, tip, store, overview, time, cancellationToken));
    }

    private static async Task<Results<Created<RegisterReply>, ProblemHttpResult>> RegisterAsync(
        HttpRequest request, BusService bus, CallerLimits limits, CancellationToken cancellationToken)
    {
        var body = await ApiRequestReader.ReadJsonAsync(request, cancellationToken);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var register = ReadRegister(body.Json);
        var caller = Caller.Of(request.HttpContext);
        if (SessionAccess.CheckRegisterName(caller, register.Name) is { } refused)
        {
            return Forbidden(refused);
        }

        if (limits.TryRegister(request.HttpContext) is { } refusal)
        {
            return LimitReplies.Problem(request.HttpContext, refusal);
        }

        try
        {
            var reply = await bus.RegisterSessionAsync(register.Name, register.Machine, register.Cwd, register.ClientId, caller.Actor, cancellationToken);
            return TypedResults.Created($"/api/v1/sessions/{Uri.EscapeDataString(reply.SessionId)}", reply);
        }
        catch (BusValidationException ex) when (ex.Message.StartsWith("Forbidden", StringComparison.Ordinal))
        {
            return Forbidden(ex.Message);
        }
    }

    private static async Task<SessionView> ViewAsync(
        Session s, Core.Security.Actor actor, long tip, IEventStore store, IBusOverview overview, TimeProvider time, CancellationToken cancellationToken)
    {
        var unread = s.IsLive ? await overview.CountEventsAfterAsync(s.Cursor ?? tip, UnreadCap, cancellationToken) : 0;
        var subscriptions = new List<SubscriptionEntry> { new(Core.Channels.ChannelName.Direct(s.SessionId), SignalLevel.Lifecycle.ToWire(), true) };
        subscriptions.AddRange((await store.ListSubscriptionsAsync(s.SessionId, cancellationToken))
            .Select(x => new SubscriptionEntry(x.Pattern, x.MinLevel.ToWire(), false)));
        return new SessionView(
            s.SessionId, s.DisplayId, s.Name, s.Machine, s.Repo, s.Cwd, actor.MayActAs(s) ? s.ClientId : null,
            Timestamps.ToWire(s.RegisteredAt), Timestamps.ToWire(s.LastHeartbeat),
            Math.Round((time.GetUtcNow() - s.LastHeartbeat).TotalSeconds, 3),
            s.IsLive, s.DeletedAt is { } d ? Timestamps.ToWire(d) : null,
            s.Cursor is { } c ? Cursor.Format(c) : null, unread, unread >= UnreadCap, subscriptions);
    }

    private static int ParseMinutes(string? text)
    {
        if (text is null)
        {
            return DefaultEndedWithinMinutes;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var m) &&
               m <= MaxEndedWithinMinutes
            ? m
            : throw new BusValidationException(
                $"ended_within_minutes must be a whole number of minutes from 0 to {MaxEndedWithinMinutes} (got \"{(text.Length > 40 ? text[..40] + "…" : text)}\").");
    }

    private static RegisterSessionRequest ReadRegister(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new BusValidationException("expected a JSON object like {\"name\": \"my-task\"}.");
        }

        string? name = null, machine = null, cwd = null, clientId = null;
        foreach (var property in json.EnumerateObject())
        {
            var value = property.Value.ValueKind switch
            {
                JsonValueKind.String => TextRules.TryGetString(property.Value, out var text)
                    ? text
                    : throw new BusValidationException(TextRules.UnpairedSurrogate(property.Name)),
                JsonValueKind.Null => null,
                _ => throw new BusValidationException($"{property.Name} must be a string."),
            };
            switch (property.Name)
            {
                case "name": name = value; break;
                case "machine": machine = value; break;
                case "cwd": cwd = value; break;
                case "client_id": clientId = value; break;
                default: throw new BusValidationException($"unknown field \"{property.Name}\" (expected name, machine, cwd, client_id).");
            }
        }

        return new RegisterSessionRequest(name ?? throw new BusValidationException("name is required."), machine, cwd, clientId);
    }

    private static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
}

/// <summary><c>POST /api/v1/sessions</c>' body: register_session's arguments.</summary>
internal sealed record RegisterSessionRequest(string Name, string? Machine, string? Cwd, string? ClientId);

/// <summary>A session as the sessions view shows it.</summary>
internal sealed record SessionView(
    string SessionId, string DisplayId, string Name, string Machine, string Repo, string Cwd, string? ClientId,
    string RegisteredAt, string LastHeartbeat, double SilentSeconds, bool Live, string? EndedAt, string? Cursor,
    int Unread, bool UnreadCapped, IReadOnlyList<SubscriptionEntry> Subscriptions);

/// <summary><c>GET /api/v1/sessions</c>: live sessions first, then ended ones.</summary>
internal sealed record SessionsView(IReadOnlyList<SessionView> Sessions, int Live, int Ended);
