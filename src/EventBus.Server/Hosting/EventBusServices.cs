using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Server.Api;
using EventBus.Server.Dashboard;
using EventBus.Server.Health;
using EventBus.Server.Ingest;
using EventBus.Server.Mcp;
using EventBus.Server.Mqtt;
using EventBus.Server.Notifications;
using EventBus.Server.Permissions;
using EventBus.Server.Platform;
using EventBus.Server.Retention;
using EventBus.Server.Sessions;
using EventBus.Server.Tools;
using EventBus.Server.Webhooks;
using EventBus.Server.WebSockets;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace EventBus.Server.Hosting;

/// <summary>The wiring: <c>AddEventBus</c> registers everything, <c>MapEventBus</c> maps every endpoint.</summary>
public static class EventBusServices
{
    /// <summary>Registers options (validated at start-up), the store, the bus, MCP and background services.</summary>
    public static IServiceCollection AddEventBus(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("EventBus");
        services.AddOptions<ServerOptions>().Bind(section).ValidateOnStart();
        services.AddOptions<BusOptions>().Bind(section);
        services.AddOptions<McpHttpOptions>().Bind(section.GetSection("Mcp"));
        services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddApi();
        services.AddPermissions();
        services.AddDashboard();
        services.AddOpenApi();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<CommitSignal>();
        services.AddSingleton<RecentEvents>();
        services.AddSingleton<Core.Webhooks.DeliverySignal>();
        services.AddSingleton<ICommitObserver, CommitFanout>();
        services.AddEventStore(section.GetSection("Store"));
        services.AddSingleton<EventFollower>();
        services.AddSingleton<Security.TokenAuthenticator>();
        services.AddSingleton<Security.SessionAccess>();
        services.AddHttpContextAccessor();
        services.AddHostedService<Security.InsecureWarningService>();
        services.AddSingleton<IHostPlatform>(HostPlatform.Current);
        services.AddSingleton<IDesktopNotifier, DesktopNotifier>();
        services.AddSingleton(sp => new BusService(
            sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<IDesktopNotifier>(),
            sp.GetRequiredService<IOptions<BusOptions>>().Value, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<CommitSignal>(), sp.GetRequiredService<Core.Retention.RetentionWatermark>()));
        services.AddRetention(section);

        services.AddWebhooks(section);
        Metrics.MetricsServices.AddBusMetrics(services, configuration);
        services.AddIngest(section);
        services.AddMqtt(section);
        services.AddSingleton<Limits.CallerLimits>();
        services.AddSingleton<ToolRegistry>();
        services.AddSingleton<McpServerOptions>(sp => McpServerSetup.Create(sp.GetRequiredService<ToolRegistry>()));
        services.AddSingleton<McpToolDispatcher>();
        services.AddSingleton<Mcp.Events.EventReplay>();
        services.AddSingleton<Mcp.Events.McpEventsHandler>();
        services.AddSingleton<Mcp.Events.Webhooks.WebhookSubscriptions>();
        services.AddSingleton<Mcp.Events.Webhooks.EndpointVerifier>();
        services.AddSingleton<Webhooks.ISubscriptionDeliveries, Mcp.Events.Webhooks.SubscriptionDeliveries>();
        services.AddSingleton<Push.PushService>();
        services.AddSingleton<McpSessionStore>();
        services.AddSingleton<Mcp.Resume.PostStreamResumer>();
        services.AddSingleton<McpHttpHandler>();
        services.AddHostedService<McpSessionPruner>();
        services.AddSingleton<SessionExpiryService>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionExpiryService>());
        return services;
    }

    /// <summary>Maps <c>/health</c>, <c>/mcp</c>, <c>/api/v1</c>, <c>/openapi/v1.json</c> and the dashboard at <c>/</c> behind the Host/Origin guard.</summary>
    public static WebApplication MapEventBus(this WebApplication app)
    {
        app.UseMiddleware<Api.StoreFaultHandler>();
        app.UseMiddleware<HostGuard>();
        app.UseMiddleware<Security.AuthGate>();
        // Pings every keep-alive interval; a peer that answers no pong within the stall timeout is cut (/api/v1/ws, /mqtt).
        app.UseWebSockets(WebSockets.WebSocketEndpoints.HostOptions(app.Services.GetRequiredService<IOptions<McpHttpOptions>>().Value));
        app.MapHealth();
        app.MapMcp();
        app.MapApi();
        app.MapPermissions();
        app.MapWebSocketStream();
        app.MapMqtt();
        app.MapIngest();
        Metrics.MetricsServices.MapBusMetrics(app);
        app.MapOpenApi();
        app.MapDashboard();
        return app;
    }
}
