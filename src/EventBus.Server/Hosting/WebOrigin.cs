using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace EventBus.Server.Hosting;

/// <summary>
/// A browser's <c>Origin</c> header, parsed strictly: <c>http</c> or <c>https</c>, a host, an optional port, and
/// nothing else. Browsers send exactly that form (RFC 6454); anything with userinfo, a path, a query, a fragment,
/// another scheme or a host in a form browsers do not write (<c>0x7f.1</c>) is not an origin this bus serves.
/// </summary>
internal readonly partial record struct WebOrigin(string Scheme, string Host, int? Port)
{
    public static bool TryParse(string text, out WebOrigin origin)
    {
        origin = default;
        var match = Shape().Match(text);
        if (!match.Success)
        {
            return false;
        }

        int? port = null;
        if (match.Groups["port"].Success)
        {
            if (!int.TryParse(match.Groups["port"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                return false;
            }

            port = p;
        }

        origin = new WebOrigin(match.Groups["scheme"].Value.ToLowerInvariant(), match.Groups["host"].Value.ToLowerInvariant(), port);
        return true;
    }

    /// <summary>This machine: <c>localhost</c>, a dotted-quad loopback address, or <c>[::1]</c>.</summary>
    public bool IsLoopback =>
        Host == "localhost" ||
        (Host.StartsWith('[') ? IPAddress.TryParse(Host[1..^1], out var v6) && IPAddress.IsLoopback(v6)
            : DottedQuad().IsMatch(Host) && IPAddress.TryParse(Host, out var v4) && IPAddress.IsLoopback(v4));

    public override string ToString() => Port is { } p ? $"{Scheme}://{Host}:{p}" : $"{Scheme}://{Host}";

    [GeneratedRegex(@"\A(?<scheme>[Hh][Tt][Tt][Pp][Ss]?)://(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(?<port>[0-9]{1,5}))?\z")]
    private static partial Regex Shape();

    [GeneratedRegex(@"\A(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\z")]
    private static partial Regex DottedQuad();
}
