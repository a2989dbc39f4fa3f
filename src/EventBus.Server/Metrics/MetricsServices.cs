using EventBus.Core.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EventBus.Server.Metrics;

/// <summary>
/// Metrics and traces through OpenTelemetry: the bus's meter to a Prometheus scrape endpoint at <c>/metrics</c>, and
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment or configuration), metrics and traces over OTLP too.
/// </summary>
internal static class MetricsServices
{
    private const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static IServiceCollection AddBusMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("EventBus:Metrics");
        services.AddOptions<MetricsOptions>().Bind(section);
        var options = section.Get<MetricsOptions>() ?? new MetricsOptions();
        var otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpoint]);
        services.AddSingleton<StoreGauges>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreGauges>());
        if (!options.Enabled && !otlp)
        {
            return services;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("eventbus", serviceVersion: Health.HealthEndpoints.Version))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(BusTelemetry.Name);
                if (options.Enabled)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            // Spans are only worth their cost when something receives them: a publish (under the request's own span,
            // continuing a W3C traceparent the client sent) through its commit, and each webhook attempt.
            telemetry.WithTracing(tracing => tracing.AddSource(BusTelemetry.Name).AddAspNetCoreInstrumentation().AddOtlpExporter());
        }

        return services;
    }

    /// <summary>Maps <c>/metrics</c> (Prometheus text format) when enabled. Open on loopback; a token once tokens exist.</summary>
    public static WebApplication MapBusMetrics(this WebApplication app)
    {
        if (app.Configuration.GetSection("EventBus:Metrics").Get<MetricsOptions>()?.Enabled ?? true)
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }

        return app;
    }
}
