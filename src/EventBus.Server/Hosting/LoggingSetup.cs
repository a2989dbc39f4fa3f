using Serilog;
using Serilog.Events;

namespace EventBus.Server.Hosting;

/// <summary>
/// Serilog as the only logging provider: the console, an optional file, and any <c>ILogEventSink</c> registered in
/// the container. Levels come from the <c>Logging:LogLevel</c> section as before (with <c>AddSerilog</c>
/// Microsoft.Extensions.Logging's filters no longer apply, so each entry becomes a Serilog minimum level or
/// override), and the chatty categories stay at Warning unless configured otherwise: the MCP SDK logs every request
/// at Information, which halves ping throughput.
/// </summary>
internal static class LoggingSetup
{
    /// <summary>Categories held at Warning by default.</summary>
    private static readonly string[] Quiet = ["ModelContextProtocol", "Microsoft.AspNetCore", "Microsoft.Hosting.Lifetime"];

    public static void AddEventBusLogging(this WebApplicationBuilder builder, ServerOptions options)
    {
        var levels = builder.Configuration.GetSection("Logging:LogLevel");
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(
            (services, serilog) =>
            {
                serilog.MinimumLevel.Is(Level(levels["Default"]) ?? LogEventLevel.Information);
                foreach (var category in Quiet)
                {
                    serilog.MinimumLevel.Override(category, LogEventLevel.Warning);
                }

                foreach (var entry in levels.GetChildren().Where(e => e.Key != "Default"))
                {
                    if (Level(entry.Value) is { } level)
                    {
                        serilog.MinimumLevel.Override(entry.Key, level);
                    }
                }

                // Data Protection warns that its keys are stored unencrypted; WebhookKeyRepository says instead, at
                // Information, where they are and how they are protected.
                serilog.MinimumLevel.Override("Microsoft.AspNetCore.DataProtection", LogEventLevel.Error);
                serilog.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}");
                if (!string.IsNullOrEmpty(options.LogFile))
                {
                    serilog.WriteTo.File(options.LogFile, rollingInterval: RollingInterval.Day);
                }

                serilog.ReadFrom.Services(services);
            },
            // Several hosts may run in one process (tests): none of them owns the static Log.Logger.
            preserveStaticLogger: true);
    }

    /// <summary>One line per request when <c>EventBus:RequestLog</c> is on.</summary>
    public static void UseEventBusRequestLog(this WebApplication app, ServerOptions options)
    {
        if (options.RequestLog)
        {
            var logger = app.Services.GetRequiredService<Serilog.ILogger>();
            app.UseSerilogRequestLogging(request => request.Logger = logger);
        }
    }

    private static LogEventLevel? Level(string? value) => value switch
    {
        "Trace" => LogEventLevel.Verbose,
        "Debug" => LogEventLevel.Debug,
        "Information" => LogEventLevel.Information,
        "Warning" => LogEventLevel.Warning,
        "Error" => LogEventLevel.Error,
        "Critical" or "None" => LogEventLevel.Fatal,
        _ => null,
    };
}
