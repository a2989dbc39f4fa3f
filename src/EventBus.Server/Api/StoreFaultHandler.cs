using EventBus.Core.Store;

namespace EventBus.Server.Api;

/// <summary>
/// A request the store could not serve (a full disk, a lock held elsewhere, a read-only file) is answered 507 or 503
/// with Retry-After and a problem-details body that says what is wrong, never a bare 500. For every HTTP path; MCP
/// tool calls turn the same exception into a tool error themselves.
/// </summary>
internal sealed partial class StoreFaultHandler(RequestDelegate next, ILogger<StoreFaultHandler> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (StoreUnavailableException ex)
        {
            LogStoreFault(logger, ex.Fault, context.Request.Path, ex.Message);
            if (context.Response.HasStarted)
            {
                // A stream already under way: nothing can be said in it; end it (the client resumes from its cursor).
                context.Abort();
                return;
            }

            context.Response.Clear();
            var status = StatusFor(ex.Fault);
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(ex.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await TypedResults.Problem(
                    ex.Message,
                    statusCode: status,
                    title: ex.Fault == StoreFault.DiskFull ? "Insufficient storage" : "Store unavailable",
                    extensions: new Dictionary<string, object?> { ["fault"] = FaultName(ex.Fault) })
                .ExecuteAsync(context);
        }
    }

    /// <summary>507 for a full disk (WebDAV's Insufficient Storage, which monitors know), 503 for the rest.</summary>
    public static int StatusFor(StoreFault fault) =>
        fault == StoreFault.DiskFull ? StatusCodes.Status507InsufficientStorage : StatusCodes.Status503ServiceUnavailable;

    /// <summary>The fault as it appears in JSON: <c>disk_full</c>, <c>locked</c>, <c>read_only</c>, <c>unreachable</c>.</summary>
    public static string FaultName(StoreFault fault) => fault switch
    {
        StoreFault.DiskFull => "disk_full",
        StoreFault.Locked => "locked",
        StoreFault.ReadOnly => "read_only",
        _ => "unreachable",
    };

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "Store unavailable ({Fault}) for {Path}: {Reason}")]
    private static partial void LogStoreFault(ILogger logger, StoreFault fault, PathString path, string reason);
}
