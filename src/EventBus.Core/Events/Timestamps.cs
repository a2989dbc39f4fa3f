using System.Globalization;

namespace EventBus.Core.Events;

/// <summary>The one timestamp format on the wire: ISO 8601 UTC with milliseconds, e.g. <c>2026-11-22T03:55:13.395Z</c>.</summary>
public static class Timestamps
{
    /// <summary>Formats a moment as UTC with millisecond precision.</summary>
    public static string ToWire(DateTimeOffset moment) =>
        moment.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Truncates to the millisecond, the precision the store keeps.</summary>
    public static DateTimeOffset ToMillisecond(DateTimeOffset moment) =>
        DateTimeOffset.FromUnixTimeMilliseconds(moment.ToUnixTimeMilliseconds());
}
