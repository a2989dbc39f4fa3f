using EventBus.Core.Store;
using EventBus.Core.Webhooks;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Webhooks;

/// <summary>Wiring of outgoing webhooks: options, secret protection (keys beside the database), the guard, sender and dispatcher.</summary>
internal static class WebhookServices
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration eventBusSection)
    {
        services.AddOptions<WebhookOptions>().Bind(eventBusSection.GetSection("Webhooks")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();

        services.AddDataProtection().SetApplicationName("EventBus");
        services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<WebhookOptions>, StoreDescriptor, ILoggerFactory, IServiceProvider>((keys, webhooks, store, logging, sp) =>
            {
                // A store shared by several nodes keeps the key ring itself (every node decrypts every secret); else
                // owner-only files beside the database: these keys decrypt every webhook secret.
                keys.XmlRepository = sp.GetService<IXmlRepository>()
                    ?? new WebhookKeyRepository(webhooks.Value.ResolveKeysPath(store), logging);
            });

        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<WebhookAddressGuard>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<WebhookService>();
        return services;
    }
}
