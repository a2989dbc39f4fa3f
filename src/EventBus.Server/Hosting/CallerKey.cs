using System.Net;

namespace EventBus.Server.Hosting;

/// <summary>Who is calling, for per-caller limits: the bearer token when there is one, else the client's address.</summary>
public static class CallerKey
{
    /// <summary>The claim the authentication handler sets to the id of the token a request carried.</summary>
    public const string TokenIdClaim = "eventbus_token_id";

    /// <summary><c>token:&lt;id&gt;</c> for a request with a token, else <c>ip:&lt;remote address&gt;</c>.</summary>
    public static string Of(HttpContext context) => Of(TokenId(context), context.Connection.RemoteIpAddress);

    /// <summary>The same for a caller that is not an HTTP request (an MQTT client): its token's id, or its address.</summary>
    public static string Of(string? tokenId, IPAddress? remote) =>
        tokenId is not null ? "token:" + tokenId : "ip:" + Normalize(remote);

    /// <summary>True for a request without a token from this machine (loopback).</summary>
    public static bool IsLocalWithoutToken(HttpContext context) =>
        IsLocalWithoutToken(TokenId(context), context.Connection.RemoteIpAddress);

    /// <summary>The same for a caller that is not an HTTP request.</summary>
    public static bool IsLocalWithoutToken(string? tokenId, IPAddress? remote) =>
        tokenId is null && Normalize(remote) is { } address && IPAddress.IsLoopback(address);

    private static string? TokenId(HttpContext context) => context.User.FindFirst(TokenIdClaim)?.Value;

    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; one caller, one key.
    private static IPAddress? Normalize(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : address;
}
