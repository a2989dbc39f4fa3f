using System.Net;

namespace EventBus.Server.Hosting;

/// <summary>Who is calling, for per-caller limits: the bearer token when there is one, else the client's address.</summary>
public static class CallerKey
{
    /// <summary>The claim the authentication handler sets to the id of the token a request carried.</summary>
    public const string TokenIdClaim = "eventbus_token_id";

    /// <summary><c>token:&lt;id&gt;</c> for a request with a token, else <c>ip:&lt;remote address&gt;</c>.</summary>
    public static string Of(HttpContext context) =>
        context.User.FindFirst(TokenIdClaim) is { } token ? "token:" + token.Value : "ip:" + RemoteAddress(context);

    /// <summary>True for a request without a token from this machine (loopback).</summary>
    public static bool IsLocalWithoutToken(HttpContext context) =>
        context.User.FindFirst(TokenIdClaim) is null && RemoteAddress(context) is { } address && IPAddress.IsLoopback(address);

    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; one caller, one key.
    private static IPAddress? RemoteAddress(HttpContext context) =>
        context.Connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : context.Connection.RemoteIpAddress;
}
