using EventBus.Server.Health;
using EventBus.Server.Mqtt.Bridge;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Mqtt;

/// <summary>The MQTT wiring: <c>AddMqtt</c> registers the bridges (and their health); <c>EventBus:Mqtt</c> configures them.</summary>
internal static class MqttServices
{
    public static IServiceCollection AddMqtt(this IServiceCollection services, IConfigurationSection eventBus)
    {
        services.AddOptions<MqttOptions>().Bind(eventBus.GetSection("Mqtt")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>();
        services.AddSingleton<MqttBridgeService>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttBridgeService>());
        services.AddSingleton<IHealthSection, MqttHealth>();
        return services;
    }
}
