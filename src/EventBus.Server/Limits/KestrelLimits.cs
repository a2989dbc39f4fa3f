using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace EventBus.Server.Limits;

/// <summary>Kestrel's connection limits, set deliberately from <see cref="LimitsOptions"/>.</summary>
internal static class KestrelLimits
{
    public static void Apply(KestrelServerLimits kestrel, LimitsOptions limits)
    {
        kestrel.MaxRequestHeadersTotalSize = limits.MaxRequestHeaderBytes;
        kestrel.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
        kestrel.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrel.KeepAliveTimeout = limits.KeepAliveTimeout;

        // Kestrel times only the moments it is waiting on the client (a body read, or a write the socket will not take
        // yet), so a stream with nothing to send is never cut, and neither is a reader that keeps up at some pace.
        var rate = MinRate(limits, limits.MinDataRateGracePeriod);
        kestrel.MinRequestBodyDataRate = rate;
        kestrel.MinResponseDataRate = rate;
    }

    /// <summary>
    /// A stream's reader may fall behind for as long as a GET stream's queue may stay full
    /// (<c>EventBus:Mcp:StreamStallTimeout</c>) before Kestrel cuts it, rather than the short grace of ordinary replies
    /// (never less than that grace: Kestrel needs more than its one-second heartbeat).
    /// </summary>
    public static void ForStream(HttpContext context, LimitsOptions limits, TimeSpan stallTimeout)
    {
        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } feature)
        {
            feature.MinDataRate = MinRate(limits, stallTimeout > limits.MinDataRateGracePeriod ? stallTimeout : limits.MinDataRateGracePeriod);
        }
    }

    private static MinDataRate? MinRate(LimitsOptions limits, TimeSpan grace) =>
        limits.MinDataRateBytesPerSecond > 0 ? new MinDataRate(limits.MinDataRateBytesPerSecond, grace) : null;
}
