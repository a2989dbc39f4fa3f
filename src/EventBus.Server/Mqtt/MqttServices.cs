using EventBus.Server.Health;
using EventBus.Server.Mqtt.Bridge;
using EventBus.Server.Mqtt.Endpoint;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Mqtt;

/// <summary>
/// The MQTT wiring: <c>AddMqtt</c> registers the bridges (and their health) and, when configured, the bus's own endpoint;
/// <c>MapMqtt</c> hooks the endpoint up. <c>EventBus:Mqtt</c> configures both.
/// </summary>
internal static class MqttServices
{
    public static IServiceCollection AddMqtt(this IServiceCollection services, IConfigurationSection eventBus)
    {
        services.AddOptions<MqttOptions>().Bind(eventBus.GetSection("Mqtt")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>();
        services.AddSingleton<MqttBridgeService>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttBridgeService>());
        services.AddSingleton<IHealthSection, MqttHealth>();
        services.AddMqttEndpoint(eventBus.GetSection("Mqtt"));
        return services;
    }

    public static WebApplication MapMqtt(this WebApplication app) => app.MapMqttEndpoint();
}
