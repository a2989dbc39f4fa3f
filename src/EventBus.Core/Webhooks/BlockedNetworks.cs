using System.Net;
using System.Net.Sockets;

namespace EventBus.Core.Webhooks;

/// <summary>
/// The addresses a webhook may not reach unless private networks are allowed (SSRF guard): loopback, link-local
/// (169.254.0.0/16 holds the cloud metadata service 169.254.169.254), private (RFC 1918), shared/CGNAT
/// (100.64.0.0/10, Tailscale's range), unique-local IPv6 (fc00::/7, which holds fd00:ec2::254, AWS's IPv6 metadata
/// address), unspecified, multicast, broadcast and reserved ranges. IPv4-mapped and NAT64 IPv6 addresses are judged
/// by the IPv4 address they carry.
/// </summary>
public static class BlockedNetworks
{
    private static readonly (uint Network, int Bits, string Name)[] V4 =
    [
        (0x00000000, 8, "\"this\" network (0.0.0.0/8)"),
        (0x0A000000, 8, "private (10.0.0.0/8)"),
        (0x64400000, 10, "shared/CGNAT (100.64.0.0/10)"),
        (0x7F000000, 8, "loopback (127.0.0.0/8)"),
        (0xA9FEA9FE, 32, "the cloud metadata service (169.254.169.254)"),
        (0xA9FE0000, 16, "link-local (169.254.0.0/16)"),
        (0xAC100000, 12, "private (172.16.0.0/12)"),
        (0xC0000000, 24, "IETF protocol assignments (192.0.0.0/24)"),
        (0xC0A80000, 16, "private (192.168.0.0/16)"),
        (0xC6120000, 15, "benchmarking (198.18.0.0/15)"),
        (0xE0000000, 4, "multicast (224.0.0.0/4)"),
        (0xF0000000, 4, "reserved (240.0.0.0/4)"),
    ];

    /// <summary>Why <paramref name="address"/> is refused (e.g. "loopback (127.0.0.0/8)"), or null if it is public.</summary>
    public static string? Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return Classify(address.MapToIPv4());
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var bytes = address.GetAddressBytes();
            var value = ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
            foreach (var (network, bits, name) in V4)
            {
                var mask = bits == 0 ? 0u : uint.MaxValue << (32 - bits);
                if ((value & mask) == network)
                {
                    return name;
                }
            }

            return null;
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return "not an IP address";
        }

        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return "loopback (::1)";
        }

        if (address.Equals(IPAddress.IPv6Any))
        {
            return "unspecified (::)";
        }

        var b = address.GetAddressBytes();
        if ((b[0] & 0xFE) == 0xFC)
        {
            return "unique-local (fc00::/7)";
        }

        if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80)
        {
            return "link-local (fe80::/10)";
        }

        if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0)
        {
            return "site-local (fec0::/10)";
        }

        if (b[0] == 0xFF)
        {
            return "multicast (ff00::/8)";
        }

        // 64:ff9b::/96 (NAT64) and ::/96 (IPv4-compatible) carry an IPv4 address in the last four bytes.
        var nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0;
        var compatible = b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0;
        if (nat64 || compatible)
        {
            return Classify(new IPAddress(b.AsSpan(12, 4)));
        }

        return null;
    }
}
