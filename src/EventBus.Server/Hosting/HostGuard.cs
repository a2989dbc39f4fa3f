using Microsoft.Extensions.Options;

namespace EventBus.Server.Hosting;

/// <summary>
/// DNS-rebinding and cross-site protection: a request whose <c>Host</c> is not one of ours, or whose <c>Origin</c> is a
/// foreign site, is refused with 403 before it reaches any endpoint.
/// </summary>
internal sealed class HostGuard(RequestDelegate next, IOptions<ServerOptions> options)
{
    private readonly HashSet<string> _hosts = AllowedHosts(options.Value);
    private readonly HashSet<string> _origins = new(
        options.Value.AllowedOrigins.Select(o => WebOrigin.TryParse(o.TrimEnd('/'), out var parsed) ? parsed.ToString() : o), StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        var host = context.Request.Host.Host;
        if (!_hosts.Contains("*") && !_hosts.Contains(host))
        {
            await Refuse(context, $"Forbidden: Host \"{context.Request.Host}\" is not served here (EventBus:AllowedHosts).");
            return;
        }

        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsAllowedOrigin(origin) && !IsSameOrigin(origin, context.Request))
        {
            await Refuse(context, $"Forbidden: Origin \"{origin}\" is not allowed (EventBus:AllowedOrigins).");
            return;
        }

        await next(context);
    }

    // Parsed strictly first: a configured origin or a loopback one (any port: the same machine, e.g. a local dashboard
    // or the MCP Inspector) is allowed only in the exact form browsers send.
    private bool IsAllowedOrigin(string origin) =>
        WebOrigin.TryParse(origin, out var parsed) && (parsed.IsLoopback || _origins.Contains(parsed.ToString()));

    // The dashboard served by this bus calls its own API: its origin is the request's scheme and (already checked) Host.
    private static bool IsSameOrigin(string origin, HttpRequest request) =>
        WebOrigin.TryParse(origin, out var parsed) && WebOrigin.TryParse($"{request.Scheme}://{request.Host}", out var own) &&
        parsed.Scheme == own.Scheme && parsed.Host == own.Host &&
        (parsed.Port ?? DefaultPort(parsed.Scheme)) == (own.Port ?? DefaultPort(own.Scheme));

    private static int DefaultPort(string scheme) => scheme == "https" ? 443 : 80;

    private static Task Refuse(HttpContext context, string message)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            // The REST API speaks RFC 9457 problem details; /mcp speaks JSON-RPC.
            return Results.Problem(detail: message, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden").ExecuteAsync(context);
        }

        return Mcp.JsonRpcReplies.WriteErrorAsync(context, StatusCodes.Status403Forbidden, Mcp.JsonRpcReplies.ServerError, message);
    }

    private static HashSet<string> AllowedHosts(ServerOptions options)
    {
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]", "::1" };
        if (!options.IsLoopback && options.Host is not ("0.0.0.0" or "::" or "[::]"))
        {
            hosts.Add(options.Host);
        }

        foreach (var host in options.AllowedHosts)
        {
            hosts.Add(host);
        }

        return hosts;
    }
}
