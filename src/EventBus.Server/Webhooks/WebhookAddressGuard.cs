using System.Net;
using System.Net.Sockets;
using EventBus.Core.Webhooks;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Webhooks;

/// <summary>
/// The SSRF guard. At registration it resolves the URL's host and refuses private addresses; at send time it is the
/// HTTP handler's <c>ConnectCallback</c>: it resolves the host itself and connects only to an address it has checked,
/// so a DNS answer that changes between check and connect (DNS rebinding) cannot slip through.
/// </summary>
internal sealed class WebhookAddressGuard(IOptions<WebhookOptions> options)
{
    private const string Hint = "set EventBus:Webhooks:AllowPrivateNetworks=true (or EVENTBUS_ALLOW_PRIVATE_WEBHOOKS=true) to allow private receivers";

    public bool AllowPrivate => options.Value.AllowPrivateNetworks;

    /// <summary>Why <paramref name="url"/> cannot be a webhook (null if it can).</summary>
    public async Task<string?> CheckAsync(Uri url, CancellationToken cancellationToken)
    {
        if (AllowPrivate)
        {
            return null;
        }

        IPAddress[] addresses;
        try
        {
            addresses = await ResolveAsync(url.IdnHost, cancellationToken);
        }
        catch (SocketException ex)
        {
            return $"cannot resolve {url.Host}: {ex.Message}";
        }

        foreach (var address in addresses)
        {
            if (BlockedNetworks.Classify(address) is { } reason)
            {
                return $"{url.Host} resolves to {address}, a {reason} address; webhooks to private networks are refused ({Hint})";
            }
        }

        return addresses.Length == 0 ? $"{url.Host} resolves to no address" : null;
    }

    /// <summary>The <c>SocketsHttpHandler.ConnectCallback</c>: connects to a checked address of the request's host.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = await ResolveAsync(host, cancellationToken);
        var allowed = AllowPrivate ? addresses : addresses.Where(a => BlockedNetworks.Classify(a) is null).ToArray();
        if (allowed.Length == 0)
        {
            var first = addresses.FirstOrDefault();
            throw new HttpRequestException(first is null
                ? $"{host} resolves to no address"
                : $"refused by the SSRF guard: {host} resolves to {first}, a {BlockedNetworks.Classify(first)} address ({Hint})");
        }

        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                last = ex;
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new HttpRequestException($"cannot connect to {host}:{context.DnsEndPoint.Port}: {last?.Message}", last);
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(literal, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken);
    }
}
