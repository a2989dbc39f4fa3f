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
            .Configure<IOptions<WebhookOptions>, StoreDescriptor, ILoggerFactory>((keys, webhooks, store, logging) =>
            {
                var path = webhooks.Value.ResolveKeysPath(store);
                // Owner-only: these keys decrypt every webhook secret.
                var directory = OperatingSystem.IsWindows()
                    ? Directory.CreateDirectory(path)
                    : Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                keys.XmlRepository = new FileSystemXmlRepository(directory, logging);
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
