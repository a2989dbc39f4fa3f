namespace EventBus.Server.Mcp;

/// <summary>The <c>/mcp</c> endpoint's settings. Bound from <c>EventBus:Mcp</c>.</summary>
public sealed class McpHttpOptions
{
    /// <summary>The default of <see cref="StreamResendBytes"/>: 64 MiB.</summary>
    public const long DefaultStreamResendBytes = 64L * 1024 * 1024;

    /// <summary>A session with no request and no open GET stream for this long is closed. Default 2 hours.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How often idle sessions are looked for. Default 1 minute.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A <c>: keepalive</c> comment goes out on an open stream after this much silence. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The <c>retry</c> field of the priming event that starts every POST answered as an event stream: how long a
    /// client waits before it reconnects a stream that broke. Default 2 s.
    /// </summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The most MCP sessions open at once; past it, new sessions get 503. Default 10,000.</summary>
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>Frames queued for one GET stream (past what the socket holds). Default 1,024.</summary>
    public int StreamQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// A GET stream whose queue stays full this long, or whose write the reader takes nothing of for this long, is cut
    /// off; its push cursor is kept and the next stream resumes from it. <c>/api/v1/stream</c> readers are cut the same
    /// way (they resume with <c>Last-Event-ID</c>). Default 30 s.
    /// </summary>
    public TimeSpan StreamStallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many bytes written to a GET stream may still sit unread in buffers (Kestrel's, both sockets') when it is cut
    /// off: pushes within the last this-many bytes count as not received, and the next stream sends them again. Default
    /// <see cref="DefaultStreamResendBytes"/> (64 MiB; Linux lets a receive buffer grow to 32 MiB).
    /// </summary>
    public long StreamResendBytes { get; set; } = DefaultStreamResendBytes;

    /// <summary>
    /// How many answers one session keeps for POST streams the server ended before answering (SEP-1699 polling), until
    /// a GET resumes each stream with its id as <c>Last-Event-ID</c>. Past it, a stream is not ended early: its answer
    /// goes on it as usual. Default 32.
    /// </summary>
    public int PendingResponseLimit { get; set; } = 32;

    /// <summary>
    /// How long such an answer (or the call still running for it) is kept without a GET resuming its stream, counted
    /// from when the stream ended, the answer was ready, or the last resuming GET went away. Then it is dropped and a
    /// running call cancelled. Default 5 minutes.
    /// </summary>
    public TimeSpan PendingResponseExpiry { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Registers the MCP conformance suite's fixture tools (<c>test_reconnection</c>) on <c>/mcp</c>. A test fixture for
    /// <c>@modelcontextprotocol/conformance</c> runs, never for a real bus: off by default, and while off the tools are
    /// neither listed nor callable.
    /// </summary>
    public bool ConformanceFixtures { get; set; }
}
