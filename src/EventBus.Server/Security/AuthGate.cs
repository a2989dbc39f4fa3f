using System.Security.Claims;
using EventBus.Core.Security;
using EventBus.Server.Mcp;

namespace EventBus.Server.Security;

/// <summary>
/// Bearer tokens on <c>/mcp</c> and <c>/api/v1</c> (the SSE streams included; ingest has its own per-source auth).
/// A missing or unusable token is 401 with <c>WWW-Authenticate: Bearer</c>; a token without the scope an endpoint
/// needs is 403. Each answer says which, as JSON-RPC on <c>/mcp</c> and as problem details on <c>/api</c>.
/// </summary>
internal sealed class AuthGate(RequestDelegate next, TokenAuthenticator authenticator)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<AccessToken, (Caller Caller, ClaimsPrincipal Principal)> _principals = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var api = path.StartsWithSegments("/api/v1");
        if ((!api && !path.StartsWithSegments("/mcp")) || path.StartsWithSegments("/api/v1/ingest") ||
            !await authenticator.IsRequiredAsync(context.RequestAborted))
        {
            await next(context);
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, null,
                "Unauthorized: this bus needs a token. Send \"Authorization: Bearer <token>\" (create one on the bus host with " +
                "`eventbus token create --name <name> --scope read|publish|admin`).");
            return;
        }

        var (token, problem) = await authenticator.AuthenticateAsync(header[7..].Trim(), context.RequestAborted);
        if (token is null)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "invalid_token", $"Unauthorized: {problem}.");
            return;
        }

        // One caller and principal per token, made once (nothing mutates them): no allocations per request.
        var (caller, principal) = _principals.GetOrAdd(token, static t => (new Caller(t), new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(Hosting.CallerKey.TokenIdClaim, t.TokenId), new Claim(ClaimTypes.Name, t.Name), new Claim(ClaimTypes.Role, TokenSecrets.ScopeName(t.Scope))],
            authenticationType: "Bearer"))));
        caller.Attach(context);
        context.User = principal;

        // REST publishing needs the publish scope; everything else under /api/v1 reads. (/mcp checks per tool.)
        if (api && HttpMethods.IsPost(context.Request.Method) && !caller.Has(TokenScope.Publish))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, null,
                $"Forbidden: publishing needs a token with the publish scope; {caller.Describe()} may only read.");
            return;
        }

        await next(context);
    }

    /// <summary>401 or 403 in the endpoint's own error format.</summary>
    public static Task RefuseAsync(HttpContext context, int status, string? bearerError, string message)
    {
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = bearerError is null
                ? "Bearer realm=\"eventbus\""
                : $"Bearer realm=\"eventbus\", error=\"{bearerError}\", error_description=\"{message.Replace("\"", "'", StringComparison.Ordinal)}\"";
        }

        if (context.Request.Path.StartsWithSegments("/api"))
        {
            var title = status == StatusCodes.Status401Unauthorized ? "Unauthorized" : "Forbidden";
            return Results.Problem(detail: message, statusCode: status, title: title).ExecuteAsync(context);
        }

        return JsonRpcReplies.WriteErrorAsync(context, status, JsonRpcReplies.ServerError, message);
    }
}
