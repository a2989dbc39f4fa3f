using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace EventBus.Server.Mcp;

/// <summary>The open MCP sessions of this process, by <c>Mcp-Session-Id</c>.</summary>
internal sealed partial class McpSessionStore(
    IOptions<McpHttpOptions> options,
    McpServerOptions serverOptions,
    ILoggerFactory loggerFactory,
    IServiceProvider services,
    TimeProvider time,
    Push.PushService push,
    ILogger<McpSessionStore> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, McpHttpSession> _sessions = new(StringComparer.Ordinal);

    public int Count => _sessions.Count;

    public bool TryGet(string id, out McpHttpSession session) => _sessions.TryGetValue(id, out session!);

    /// <summary>
    /// Opens a session, or returns null when the session cap is reached. The session holds <paramref name="callerSlot"/>
    /// (its place under the caller's cap) and releases it when it closes.
    /// </summary>
    public McpHttpSession? Create(IDisposable? callerSlot = null)
    {
        if (_sessions.Count >= options.Value.MaxSessions)
        {
            return null;
        }

        var id = NewId();
        var transport = new StreamableHttpServerTransport(loggerFactory) { SessionId = id };
        var server = McpServer.Create(transport, serverOptions, loggerFactory, services);
        var session = new McpHttpSession(id, transport, server, time)
        {
            CallerSlot = callerSlot,
            Pending = new Resume.PendingResponses(options.Value.PendingResponseLimit, options.Value.PendingResponseExpiry, time),
        };
        session.Bound += push.Attach;
        // The transport's inbound channel holds one message: the server must be reading before the first POST.
        session.Start();
        _sessions[id] = session;
        LogOpened(logger, id);
        return session;
    }

    /// <summary>A throwaway stateless server for one session-less request (what the old CLI sends).</summary>
    public (StreamableHttpServerTransport Transport, McpServer Server) CreateStateless()
    {
        var transport = new StreamableHttpServerTransport(loggerFactory) { Stateless = true };
        return (transport, McpServer.Create(transport, serverOptions, loggerFactory, services));
    }

    public async Task<bool> CloseAsync(string id, string reason)
    {
        if (!_sessions.TryRemove(id, out var session))
        {
            return false;
        }

        LogClosed(logger, id, reason);
        await session.DisposeAsync();
        return true;
    }

    /// <summary>One pass of idle pruning; returns how many sessions were closed.</summary>
    public async Task<int> PruneIdleAsync()
    {
        var closed = 0;
        foreach (var (id, session) in _sessions)
        {
            // Answers nobody came back for go first (their calls cancelled), so they do not keep a session alive.
            session.Pending.Sweep();
            if (session.IsIdle(options.Value.SessionIdleTimeout) && await CloseAsync(id, "idle"))
            {
                closed++;
            }
        }

        return closed;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _sessions.Keys)
        {
            await CloseAsync(id, "shutdown");
        }
    }

    private static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return WebEncoders.Base64UrlEncode(bytes);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "MCP session {SessionId} opened")]
    private static partial void LogOpened(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "MCP session {SessionId} closed ({Reason})")]
    private static partial void LogClosed(ILogger logger, string sessionId, string reason);
}

/// <summary>Closes MCP sessions that have been idle longer than <see cref="McpHttpOptions.SessionIdleTimeout"/>.</summary>
internal sealed class McpSessionPruner(McpSessionStore sessions, IOptions<McpHttpOptions> options, TimeProvider time)
    : Hosting.PeriodicService(time)
{
    protected override TimeSpan Interval => options.Value.PruneInterval;

    public override Task RunOnceAsync(CancellationToken cancellationToken) => sessions.PruneIdleAsync();
}
