namespace EventBus.Core.Bus;

/// <summary>Limits and timings of the bus. Bound from the <c>EventBus</c> configuration section.</summary>
public sealed class BusOptions
{
    /// <summary>The largest payload accepted, in UTF-8 bytes. Default 64 KiB.</summary>
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>A session without a heartbeat for this long expires. Default 24 hours.</summary>
    public TimeSpan SessionTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often expiry runs. Default 1 minute.</summary>
    public TimeSpan ExpiryInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The largest <c>limit</c> a read may ask for.</summary>
    public const int MaxLimit = 1000;

    /// <summary>The longest channel, event type, name, machine, client id or correlation id.</summary>
    public const int MaxNameLength = 256;

    /// <summary>The longest title.</summary>
    public const int MaxTitleLength = 1024;

    /// <summary>The longest working directory.</summary>
    public const int MaxCwdLength = 4096;

    /// <summary>The longest a long-poll may wait, in seconds.</summary>
    public const int MaxWaitSeconds = 300;

    /// <summary>The most tags on one event.</summary>
    public const int MaxTags = 32;
}
