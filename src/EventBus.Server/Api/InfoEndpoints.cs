using EventBus.Core.Events;
using EventBus.Core.Security;
using EventBus.Core.Store;
using EventBus.Server.Health;
using EventBus.Server.Limits;
using EventBus.Server.Mcp;
using EventBus.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EventBus.Server.Api;

/// <summary>
/// Who the caller is (<c>/api/v1/me</c>: what its token may do, so a page shows only that), the tokens of the bus
/// (admin, never a secret or hash), and the server's health in detail (<c>/api/v1/health</c>).
/// </summary>
internal static class InfoEndpoints
{
    public static RouteGroupBuilder MapInfo(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("").WithTags("Server");
        group.MapGet("/me", GetMeAsync)
            .WithName("WhoAmI")
            .WithSummary("The caller's token and what it may do")
            .WithDescription(
                "auth_required says whether this bus needs tokens; token is the caller's (name, scope, session_pattern), null " +
                "on an open bus; may_publish and may_admin say what it may do.");
        group.MapGet("/tokens", ListTokensAsync)
            .WithName("ListTokens")
            .WithSummary("Access tokens (admin)")
            .WithDescription("Every token with its name, scope, session pattern and dates: never its secret or hash.")
            .ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/health", GetHealthAsync)
            .WithName("HealthDetails")
            .WithSummary("The server's health in detail")
            .WithDescription(
                "Version, store (kind, path, schema, last event id, live sessions, size on disk), uptime, open streams " +
                "(/api/v1/stream and MCP GET streams) and MCP sessions.");
        return api;
    }

    private static async Task<Ok<MeView>> GetMeAsync(HttpContext context, TokenAuthenticator authenticator, CancellationToken cancellationToken)
    {
        var caller = Caller.Of(context);
        var token = caller.Token is { } t ? new TokenView(t.TokenId, t.Name, TokenSecrets.ScopeName(t.Scope), t.SessionPattern, null, null, null) : null;
        return TypedResults.Ok(new MeView(
            await authenticator.IsRequiredAsync(cancellationToken), token, TokenSecrets.ScopeName(caller.Scope),
            caller.Has(TokenScope.Publish), caller.IsAdmin));
    }

    private static async Task<Results<Ok<TokensView>, ProblemHttpResult>> ListTokensAsync(
        HttpContext context, ITokenStore tokens, CancellationToken cancellationToken)
    {
        var caller = Caller.Of(context);
        if (!caller.IsAdmin)
        {
            return TypedResults.Problem(
                $"Forbidden: the token list needs a token with the admin scope; {caller.Describe()} may not.",
                statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
        }

        var list = (await tokens.ListTokensAsync(cancellationToken))
            .Select(t => new TokenView(
                t.TokenId, t.Name, TokenSecrets.ScopeName(t.Scope), t.SessionPattern, Timestamps.ToWire(t.CreatedAt),
                t.ExpiresAt is { } e ? Timestamps.ToWire(e) : null, t.RevokedAt is { } r ? Timestamps.ToWire(r) : null))
            .ToList();
        return TypedResults.Ok(new TokensView(list, list.Count));
    }

    private static async Task<Ok<HealthView>> GetHealthAsync(
        IEventStore store, ServerStart start, TimeProvider time, CallerLimits limits, McpSessionStore sessions,
        IEnumerable<IHealthSection> sections, CancellationToken cancellationToken)
    {
        var state = await store.GetStateAsync(cancellationToken);
        var size = (state.SizeBytes ?? 0) + (state.LogBytes ?? 0);
        var now = time.GetUtcNow();
        return TypedResults.Ok(new HealthView(
            state.Fault is null ? "ok" : "degraded", HealthEndpoints.Version,
            new StoreView(state.Kind, state.Location, state.SchemaVersion, state.Tip, state.LiveSessions, state.Writable, size),
            Timestamps.ToWire(start.At), Math.Round((now - start.At).TotalSeconds, 1), limits.OpenStreams, sessions.Count)
        {
            Sections = HealthEndpoints.Sections(sections),
        });
    }
}

/// <summary>When this server started (for uptime); made when the endpoints are mapped.</summary>
internal sealed record ServerStart(DateTimeOffset At);

/// <summary><c>GET /api/v1/me</c>.</summary>
internal sealed record MeView(bool AuthRequired, TokenView? Token, string Scope, bool MayPublish, bool MayAdmin);

/// <summary>A token without its secret.</summary>
internal sealed record TokenView(
    string TokenId, string Name, string Scope, string? SessionPattern, string? CreatedAt, string? ExpiresAt, string? RevokedAt);

/// <summary><c>GET /api/v1/tokens</c>.</summary>
internal sealed record TokensView(IReadOnlyList<TokenView> Tokens, int Count);

/// <summary><c>GET /api/v1/health</c>.</summary>
internal sealed record HealthView(
    string Status, string Version, StoreView Store, string StartedAt, double UptimeSeconds, int OpenStreams, int McpSessions)
{
    /// <summary>Features' own parts, as in <c>/health</c> (<c>mqtt</c>: the bridges; <c>mqtt_endpoint</c>).</summary>
    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, object>? Sections { get; init; }
}

/// <summary>The store part of <see cref="HealthView"/>.</summary>
internal sealed record StoreView(string Kind, string Path, int SchemaVersion, long LastEventId, int LiveSessions, bool Writable, long SizeBytes);
