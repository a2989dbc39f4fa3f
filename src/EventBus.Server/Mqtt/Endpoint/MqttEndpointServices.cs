using System.Net;
using EventBus.Server.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MQTTnet.Server;

namespace EventBus.Server.Mqtt.Endpoint;

/// <summary>
/// The bus's own MQTT endpoint (off by default): MQTTnet's server behind Kestrel, on a TCP port
/// (<c>EventBus:Mqtt:Listen</c>, on the HTTP address) and/or over WebSocket at <c>/mqtt</c> (<c>EventBus:Mqtt:WebSocket</c>),
/// which passes the same Host/Origin guard as every HTTP path.
/// </summary>
internal static class MqttEndpointServices
{
    public const string WebSocketPath = "/mqtt";

    public static IServiceCollection AddMqttEndpoint(this IServiceCollection services, IConfigurationSection mqtt)
    {
        var options = mqtt.Get<MqttOptions>() ?? new MqttOptions();
        if (!options.EndpointEnabled)
        {
            return services;
        }

        services.AddSingleton<MqttEndpointState>();
        services.AddSingleton<MqttEndpointHandlers>();
        // Sessions outlive connections (clean start off / clean session false), as a broker's do, while the bus runs.
        services.AddHostedMqttServer(server => server.WithoutDefaultEndpoint().WithPersistentSessions());
        services.AddMqttConnectionHandler();
        services.AddConnections();
        services.AddHostedService<MqttEndpointRelay>();
        services.AddSingleton<Health.IHealthSection, MqttEndpointHealth>();
        if (options.Listen is { } port)
        {
            services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerOptions>, MqttEndpointState>((kestrel, server, state) =>
            {
                void Mqtt(ListenOptions listen)
                {
                    listen.UseMqtt();
                    state.Listener = listen;
                }

                if (server.Value.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
                {
                    kestrel.ListenLocalhost(port, Mqtt);
                }
                else
                {
                    kestrel.Listen(IPAddress.Parse(server.Value.Host), port, Mqtt);
                }
            });
        }

        return services;
    }

    /// <summary>Hooks the endpoint's rules into the server, and maps <c>/mqtt</c> when asked for.</summary>
    public static WebApplication MapMqttEndpoint(this WebApplication app)
    {
        if (app.Services.GetService<MqttEndpointState>() is not { } state)
        {
            return app;
        }

        app.Services.GetRequiredService<MqttEndpointHandlers>().Attach(app.Services.GetRequiredService<MqttServer>());
        if (app.Services.GetRequiredService<IOptions<MqttOptions>>().Value.WebSocket)
        {
            state.WebSocket = true;
            app.MapMqtt(WebSocketPath);
        }

        return app;
    }
}

/// <summary><c>/health</c>'s <c>mqtt_endpoint</c> key.</summary>
internal sealed class MqttEndpointHealth(MqttEndpointState state) : Health.IHealthSection
{
    public string Key => "mqtt_endpoint";

    public object Report() => state.Report();
}
