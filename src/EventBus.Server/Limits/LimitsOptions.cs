namespace EventBus.Server.Limits;

/// <summary>
/// Per-caller limits and Kestrel's connection limits (<c>EventBus:Limits</c>). A caller is a token, or a client address
/// when the request has no token (<see cref="Hosting.CallerKey"/>). The defaults are far above what a well-behaved agent does.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>Events one caller may publish per second, sustained (MCP and REST; a batch counts its events). 0 = no limit. Default 200.</summary>
    public int PublishPerSecond { get; set; } = 200;

    /// <summary>Events one caller may publish in a burst above the sustained rate. Default 2,000.</summary>
    public int PublishBurst { get; set; } = 2000;

    /// <summary><c>register_session</c> calls one caller may make per minute, sustained. 0 = no limit. Default 30.</summary>
    public int RegisterPerMinute { get; set; } = 30;

    /// <summary><c>register_session</c> calls one caller may make in a burst. Default 30.</summary>
    public int RegisterBurst { get; set; } = 30;

    /// <summary>MCP sessions one caller may hold open at once (429 beyond). 0 = no cap. Default 1,000.</summary>
    public int MaxSessionsPerCaller { get; set; } = 1000;

    /// <summary>Streams (MCP GET streams and <c>/api/v1/stream</c>) one caller may hold open at once (429 beyond). 0 = no cap. Default 1,000.</summary>
    public int MaxStreamsPerCaller { get; set; } = 1000;

    /// <summary>
    /// Callers on this machine (loopback) without a token are not limited: they are the machine's own, trusted as before
    /// tokens existed (and all of them share one address). Callers with a token are always limited. Default true.
    /// </summary>
    public bool ExemptLoopback { get; set; } = true;

    /// <summary>The largest total size of a request's headers, in bytes (431 beyond). Default 32 KiB.</summary>
    public int MaxRequestHeaderBytes { get; set; } = 32 * 1024;

    /// <summary>The most headers one request may have (431 beyond). Default 100.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>How long a client has to send a request's headers before the connection is closed. Default 30 s.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an idle keep-alive connection stays open. Default 2 minutes.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The slowest a client may send a request body, or take a response while the server waits on it, in bytes per
    /// second, after <see cref="MinDataRateGracePeriod"/>. Time with nothing to send does not count, so idle streams are
    /// never cut. 0 = no minimum. Default 240.
    /// </summary>
    public int MinDataRateBytesPerSecond { get; set; } = 240;

    /// <summary>How long a transfer may run below the minimum rate before the connection is closed. Default 5 s. Streams use <c>EventBus:Mcp:StreamStallTimeout</c> instead.</summary>
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);
}
