namespace EventBus.Server.Mcp;

/// <summary>The <c>/mcp</c> endpoint's settings. Bound from <c>EventBus:Mcp</c>.</summary>
public sealed class McpHttpOptions
{
    /// <summary>A session with no request and no open GET stream for this long is closed. Default 2 hours.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How often idle sessions are looked for. Default 1 minute.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A <c>: keepalive</c> comment goes out on an open stream after this much silence. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The most MCP sessions open at once; past it, new sessions get 503. Default 10,000.</summary>
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>Frames queued for one GET stream (past what the socket holds). Default 1,024.</summary>
    public int StreamQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// A GET stream whose queue stays full this long (its reader takes nothing) is cut off; its push cursor is kept
    /// and the next stream resumes from it. Default 30 s.
    /// </summary>
    public TimeSpan StreamStallTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
