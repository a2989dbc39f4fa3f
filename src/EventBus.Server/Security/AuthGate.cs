using EventBus.Core.Security;
using EventBus.Server.Mcp;

namespace EventBus.Server.Security;

/// <summary>
/// Bearer tokens on <c>/mcp</c> and <c>/api/v1</c> (the SSE streams included; ingest authenticates itself, taking a
/// source's credentials or an access token: see <see cref="Ingest.IngestAuthenticator"/>).
/// A missing or unusable token is 401 with <c>WWW-Authenticate: Bearer</c>; a token without the scope an endpoint
/// needs is 403. Each answer says which, as JSON-RPC on <c>/mcp</c> and as problem details on <c>/api</c>.
/// </summary>
internal sealed class AuthGate(RequestDelegate next, TokenAuthenticator authenticator)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var api = path.StartsWithSegments("/api/v1");
        if ((!api && !path.StartsWithSegments("/mcp") && !path.StartsWithSegments("/metrics")) || path.StartsWithSegments("/api/v1/ingest") ||
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
                "`eventbus token create --name <name> --scope read|publish|approve|admin`).");
            return;
        }

        var (token, problem) = await authenticator.AuthenticateAsync(header[7..].Trim(), context.RequestAborted);
        if (token is null)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "invalid_token", $"Unauthorized: {problem}.");
            return;
        }

        var caller = authenticator.SignIn(context, token);

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
        var reason = status == StatusCodes.Status403Forbidden ? "scope" : bearerError is null ? "missing" : "invalid";
        Core.Diagnostics.BusTelemetry.AuthFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
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
