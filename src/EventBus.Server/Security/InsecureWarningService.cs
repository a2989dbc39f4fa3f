using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Security;

/// <summary>With <c>--insecure-no-auth</c> on a network bind and no token, says so every minute, so nobody forgets.</summary>
internal sealed partial class InsecureWarningService(
    IOptions<ServerOptions> options, TokenAuthenticator authenticator, TimeProvider time, ILogger<InsecureWarningService> logger)
    : PeriodicService(time)
{
    protected override TimeSpan Interval => TimeSpan.FromMinutes(1);

    protected override bool RunAtStart => true;

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (o.IsLoopback || !o.InsecureNoAuth || await authenticator.IsRequiredAsync(cancellationToken))
        {
            return;
        }

        LogInsecure(logger, o.Host, o.Port);
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning,
        Message = "INSECURE: listening on {Host}:{Port} with --insecure-no-auth and no token: anyone who can reach this port can read every message, act as any session and register webhooks. Create a token: eventbus token create --name <name> --scope admin")]
    private static partial void LogInsecure(ILogger logger, string host, int port);
}
