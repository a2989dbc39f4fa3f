using EventBus.Core.Bus;
using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Server.Api;
using EventBus.Server.Health;
using EventBus.Server.Ingest;
using EventBus.Server.Mcp;
using EventBus.Server.Notifications;
using EventBus.Server.Platform;
using EventBus.Server.Sessions;
using EventBus.Server.Store;
using EventBus.Server.Tools;
using EventBus.Server.Webhooks;
using EventBus.Sqlite;
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
        services.AddOptions<SqliteStoreOptions>().Bind(section.GetSection("Store"));
        services.AddOptions<McpHttpOptions>().Bind(section.GetSection("Mcp"));
        services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddApi();
        services.AddOpenApi();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<CommitSignal>();
        services.AddSingleton<RecentEvents>();
        services.AddSingleton<SqliteEventStore>(sp =>
        {
            var signal = sp.GetRequiredService<CommitSignal>();
            var recent = sp.GetRequiredService<RecentEvents>();
            return new SqliteEventStore(sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value, committed =>
            {
                // In memory first, then the wake-up: whoever wakes finds the events in the window.
                recent.Add(committed);
                signal.Notify(committed[^1].Id);
            });
        });
        services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<SqliteEventStore>());
        services.AddSingleton<Core.Security.ITokenStore>(sp => sp.GetRequiredService<SqliteEventStore>());
        services.AddSingleton<Security.TokenAuthenticator>();
        services.AddSingleton<Security.SessionAccess>();
        services.AddHttpContextAccessor();
        services.AddHostedService<Security.InsecureWarningService>();
        services.AddSingleton<IHostPlatform>(HostPlatform.Current);
        services.AddSingleton<IDesktopNotifier, DesktopNotifier>();
        services.AddSingleton(sp => new BusService(
            sp.GetRequiredService<IEventStore>(), sp.GetRequiredService<IDesktopNotifier>(),
            sp.GetRequiredService<IOptions<BusOptions>>().Value, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<CommitSignal>()));

        services.AddWebhooks(section);
        services.AddIngest(section);
        services.AddSingleton<Limits.CallerLimits>();
        services.AddSingleton<ToolRegistry>();
        services.AddSingleton<McpServerOptions>(sp => McpServerSetup.Create(sp.GetRequiredService<ToolRegistry>()));
        services.AddSingleton<McpToolDispatcher>();
        services.AddSingleton<Push.PushService>();
        services.AddSingleton<McpSessionStore>();
        services.AddSingleton<McpHttpHandler>();
        services.AddHostedService<McpSessionPruner>();
        services.AddHostedService<CheckpointService>();
        services.AddSingleton<SessionExpiryService>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionExpiryService>());
        return services;
    }

    /// <summary>Maps <c>/health</c>, <c>/mcp</c>, <c>/api/v1</c> and <c>/openapi/v1.json</c> behind the Host/Origin guard.</summary>
    public static WebApplication MapEventBus(this WebApplication app)
    {
        app.UseMiddleware<HostGuard>();
        app.UseMiddleware<Security.AuthGate>();
        app.MapHealth();
        app.MapMcp();
        app.MapApi();
        app.MapIngest();
        app.MapOpenApi();
        return app;
    }
}
