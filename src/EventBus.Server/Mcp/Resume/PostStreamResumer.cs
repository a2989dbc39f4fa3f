using Microsoft.Extensions.Options;

namespace EventBus.Server.Mcp.Resume;

/// <summary>
/// A GET whose <c>Last-Event-ID</c> names a POST stream the server ended before its answer (SEP-1699 polling): that
/// POST stream, resumed. It opens with the stream's priming event again (so a client whose GET breaks resumes with
/// the same id), waits for the answer with keep-alive comments, writes it, and ends: it is not the session's GET
/// stream, so it never conflicts with it (no 409) and carries no pushes, which keep going to the session's own GET
/// stream. Counted under the caller's open streams like any stream.
/// </summary>
internal sealed partial class PostStreamResumer(
    Limits.CallerLimits limits,
    IOptions<Hosting.ServerOptions> serverOptions,
    IOptions<McpHttpOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<PostStreamResumer> logger)
{
    /// <summary>Serves the resumed stream of <paramref name="pending"/>, which this GET has claimed with <paramref name="claim"/>.</summary>
    public async Task ServeAsync(HttpContext context, McpHttpSession session, PendingResponse pending, CancellationToken claim)
    {
        var delivered = false;
        try
        {
            if (limits.TryOpenStream(context, out var slot) is { } refusal)
            {
                await Limits.LimitReplies.WriteJsonRpcAsync(context, refusal);
                return;
            }

            using var held = slot;
            var mcp = options.Value;
            Limits.KestrelLimits.ForStream(context, serverOptions.Value.Limits, mcp.StreamStallTimeout);
            context.Response.Headers[McpHttpHandler.SessionHeader] = session.Id;
            McpHttpHandler.PrepareEventStream(context);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(
                context.RequestAborted, lifetime.ApplicationStopping, session.Closed, claim, pending.Abandoned);
            using var writer = new Limits.StallGuardedWriter(context.Response.Body, time, mcp.StreamStallTimeout, context.Abort);
            LogResumed(logger, session.Id, pending.StreamId);
            try
            {
                await writer.WriteAsync(McpSse.Priming(pending.StreamId, mcp.RetryInterval), stop.Token);
                await writer.FlushAsync(stop.Token);
                var answer = await WaitWithKeepAliveAsync(pending.Answer, writer, mcp.KeepAliveInterval, stop.Token);
                await writer.WriteAsync(answer, stop.Token);
                await writer.FlushAsync(stop.Token);
                delivered = true;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
                // The client left, a newer GET took the stream over, the answer was dropped, or the server is stopping:
                // the stream ends without the answer, which stays for another GET unless it was dropped.
            }
        }
        finally
        {
            session.Pending.Release(pending, claim, delivered);
        }
    }

    private async Task<ReadOnlyMemory<byte>> WaitWithKeepAliveAsync(
        Task<ReadOnlyMemory<byte>> answer, Limits.StallGuardedWriter writer, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(keepAlive, time);
        var waiting = answer.WaitAsync(cancellationToken);
        while (!waiting.IsCompleted)
        {
            var tick = timer.WaitForNextTickAsync(cancellationToken).AsTask();
            if (await Task.WhenAny(waiting, tick) == waiting)
            {
                break;
            }

            if (await tick)
            {
                await writer.WriteAsync(McpSse.KeepAlive, cancellationToken);
                await writer.FlushAsync(cancellationToken);
            }
        }

        return await waiting;
    }

    [LoggerMessage(EventId = 1320, Level = LogLevel.Debug, Message = "MCP session {SessionId}: a GET resumed POST stream {StreamId}")]
    private static partial void LogResumed(ILogger logger, string sessionId, string streamId);
}
