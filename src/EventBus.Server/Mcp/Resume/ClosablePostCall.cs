namespace EventBus.Server.Mcp.Resume;

/// <summary>
/// A <c>tools/call</c> on a session whose tool may end its POST stream before answering (<see cref="Tools.BusTool.MayCloseStream"/>).
/// The tool asks through <see cref="Tools.IPostStream"/>; the dispatcher's loop, the only writer of the response,
/// does it (<see cref="TryCloseAsync"/>): it parks a place for the answer in the session, writes the priming event if
/// the stream has not started, and ends the response, so the request (and its connection) is free while the call goes
/// on under the session. The call runs on a token of its own: the request's abort cancels it only until the stream is
/// ended; after that, the answer being dropped (expiry, session closed) does.
/// </summary>
internal sealed class ClosablePostCall : Tools.IPostStream, IDisposable
{
    private readonly McpHttpSession _session;
    private readonly CancellationTokenSource _call = new();
    private readonly TaskCompletionSource _closeRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _requestAborted;
    private CancellationTokenRegistration _dropped;

    public ClosablePostCall(HttpContext context, McpHttpSession session)
    {
        _session = session;
        _requestAborted = context.RequestAborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _call);
    }

    /// <summary>This POST stream's priming id.</summary>
    public string StreamId { get; } = McpSse.NextPostStreamId();

    /// <summary>The call's cancellation.</summary>
    public CancellationToken Token => _call.Token;

    /// <summary>Completes when the tool asks for its stream to be ended.</summary>
    public Task CloseRequested => _closeRequested.Task;

    /// <summary>The session's place for the answer, once the stream was ended early.</summary>
    public PendingResponse? Pending { get; private set; }

    public Task<bool> CloseAsync(CancellationToken cancellationToken)
    {
        _closeRequested.TrySetResult();
        return _closed.Task.WaitAsync(cancellationToken);
    }

    public Task Resumed => Pending?.Resumed ??
        Task.FromException(new InvalidOperationException("The POST stream was not ended early: nothing resumes it."));

    /// <summary>
    /// Ends the POST stream for the answer to be delivered on a resuming GET; false (the stream stays) when the session
    /// has no room left for a pending answer. <paramref name="priming"/> is written first if the response has not started.
    /// </summary>
    public async Task<bool> TryCloseAsync(HttpContext context, ReadOnlyMemory<byte> priming)
    {
        if (_session.Pending.TryPark(StreamId) is not { } pending)
        {
            _closed.TrySetResult(false);
            return false;
        }

        try
        {
            if (!context.Response.HasStarted)
            {
                McpHttpHandler.PrepareEventStream(context);
                await context.Response.Body.WriteAsync(priming, context.RequestAborted);
            }

            await context.Response.Body.FlushAsync(context.RequestAborted);
            await context.Response.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client left as the stream ended; it may still resume it.
        }

        // From here the call belongs to the session: the request ends, and only the answer being dropped cancels it.
        await _requestAborted.DisposeAsync();
        _dropped = pending.Abandoned.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _call);
        Pending = pending;
        _closed.TrySetResult(true);
        return true;
    }

    public void Dispose()
    {
        _requestAborted.Dispose();
        _dropped.Dispose();
        _call.Dispose();
        _closed.TrySetResult(false);
    }
}
