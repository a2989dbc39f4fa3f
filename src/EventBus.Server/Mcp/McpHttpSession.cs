using ModelContextProtocol.Server;

namespace EventBus.Server.Mcp;

/// <summary>
/// One stateful MCP session: the SDK's transport and server for its POSTs, and at most one GET stream of our own.
/// The session outlives its GET stream: a client may drop the stream and open it again.
/// </summary>
internal sealed class McpHttpSession(string id, StreamableHttpServerTransport transport, McpServer server, TimeProvider time)
    : IAsyncDisposable, Tools.IToolSession
{
    private string? _boundSessionId;

    private readonly CancellationTokenSource _lifetime = new();
    private SessionEventStream? _stream;
    private long _lastActivity = time.GetTimestamp();
    private int _activeRequests;
    private int _disposed;

    public string Id => id;

    /// <summary>The access token that opened this session (null without auth): only it may use the session.</summary>
    public string? TokenId { get; set; }

    /// <summary>The caller that opened the session (its scope decides what push may show it).</summary>
    public Security.Caller Caller { get; set; } = Security.Caller.Open;

    public StreamableHttpServerTransport Transport => transport;

    public McpServer Server => server;

    /// <summary>Cancelled when the session closes (DELETE, idle pruning, shutdown).</summary>
    public CancellationToken Closed => _lifetime.Token;

    public Task RunTask { get; private set; } = Task.CompletedTask;

    /// <summary>This session's place under its caller's session cap, released when it closes.</summary>
    public IDisposable? CallerSlot { get; init; }

    /// <summary>Answers of POST streams ended before their answer, waiting for a GET to resume them (Mcp/Resume).</summary>
    public Resume.PendingResponses Pending { get; init; } = new(0, TimeSpan.Zero, time);

    /// <summary>The open GET stream, if any.</summary>
    public SessionEventStream? Stream => Volatile.Read(ref _stream);

    public void Start() => RunTask = server.RunAsync(_lifetime.Token);

    /// <inheritdoc />
    public string? BoundSessionId => Volatile.Read(ref _boundSessionId);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _resources = new(StringComparer.Ordinal);

    /// <summary>Records a <c>resources/subscribe</c>.</summary>
    public void SubscribeResource(string uri) => _resources[uri] = 0;

    /// <summary>Records a <c>resources/unsubscribe</c>.</summary>
    public void UnsubscribeResource(string uri) => _resources.TryRemove(uri, out _);

    /// <summary>True if the client subscribed to this resource.</summary>
    public bool IsSubscribedTo(string uri) => _resources.ContainsKey(uri);

    /// <summary>Held by the push loop of this session's current stream.</summary>
    public SemaphoreSlim DeliveryLock { get; } = new(1, 1);

    /// <summary>Raised after <see cref="Bind"/>, so push can start on an open stream.</summary>
    public event Action<McpHttpSession>? Bound;

    /// <inheritdoc />
    public void Bind(string busSessionId)
    {
        Volatile.Write(ref _boundSessionId, busSessionId);
        Bound?.Invoke(this);
    }

    /// <summary>Marks a request in flight (the session is not idle while it runs).</summary>
    public RequestScope BeginRequest()
    {
        Interlocked.Increment(ref _activeRequests);
        Touch();
        return new RequestScope(this);
    }

    /// <summary>Requests in flight (the session is not idle while one runs).</summary>
    public int ActiveRequests => Volatile.Read(ref _activeRequests);

    /// <summary>Raised after a request ends.</summary>
    public Core.Events.ChangeSignal RequestsChanged { get; } = new();

    /// <summary>Raised after a GET stream is attached or detached.</summary>
    public Core.Events.ChangeSignal StreamChanged { get; } = new();

    /// <summary>Attaches a GET stream; false if one is already open.</summary>
    public bool TryAttach(SessionEventStream stream)
    {
        var attached = Interlocked.CompareExchange(ref _stream, stream, null) is null;
        if (attached)
        {
            StreamChanged.Notify();
        }

        return attached;
    }

    public void Detach(SessionEventStream stream)
    {
        if (Interlocked.CompareExchange(ref _stream, null, stream) == stream)
        {
            StreamChanged.Notify();
        }

        Touch();
    }

    public bool IsIdle(TimeSpan timeout) =>
        Volatile.Read(ref _activeRequests) == 0 && Stream is null && Pending.Count == 0 &&
        time.GetElapsedTime(Interlocked.Read(ref _lastActivity)) > timeout;

    private void Touch() => Interlocked.Exchange(ref _lastActivity, time.GetTimestamp());

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        CallerSlot?.Dispose();
        await _lifetime.CancelAsync();
        Pending.Close();
        Stream?.Complete();
        await transport.DisposeAsync();
        try
        {
            await RunTask;
        }
        catch (OperationCanceledException)
        {
            // The run loop ends by cancellation: that is how a session closes.
        }

        await server.DisposeAsync();
        _lifetime.Dispose();
    }

    public readonly struct RequestScope(McpHttpSession session) : IDisposable
    {
        public void Dispose()
        {
            // Touched before the count drops, so whoever sees no request in flight also sees when the last one ended.
            session.Touch();
            Interlocked.Decrement(ref session._activeRequests);
            session.RequestsChanged.Notify();
        }
    }
}
