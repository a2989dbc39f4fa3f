using EventBus.Core.Bus;
using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Sessions;

/// <summary>
/// Expires sessions that have sent no heartbeat for <see cref="BusOptions.SessionTtl"/>, on a timer rather than
/// lazily (fix 7), announcing each with a <c>session_unregistered</c> event.
/// </summary>
internal sealed partial class SessionExpiryService(
    BusService bus, IOptions<BusOptions> options, TimeProvider time, ILogger<SessionExpiryService> logger) : PeriodicService(time)
{
    protected override TimeSpan Interval => options.Value.ExpiryInterval;

    protected override bool RunAtStart => true;

    public override Task RunOnceAsync(CancellationToken cancellationToken) => ExpireAsync(cancellationToken);

    /// <summary>One expiry pass; returns how many sessions expired.</summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        try
        {
            var expired = await bus.ExpireSessionsAsync(cancellationToken);
            foreach (var session in expired)
            {
                LogExpired(logger, session.DisplayId, session.SessionId);
            }

            return expired.Count;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Keep the timer alive; the next pass retries.
            LogFailed(logger, ex);
            return 0;
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Session {DisplayId} ({SessionId}) expired")]
    private static partial void LogExpired(ILogger logger, string displayId, string sessionId);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Session expiry pass failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
