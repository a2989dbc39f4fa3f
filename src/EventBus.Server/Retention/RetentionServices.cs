using EventBus.Core.Retention;
using EventBus.Server.Health;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Retention;

/// <summary>Wiring of retention: its options (checked at start), the watermark the bus reads, the service and its health.</summary>
internal static class RetentionServices
{
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfigurationSection eventBusSection)
    {
        var section = eventBusSection.GetSection("Retention");
        var configured = RetentionOptions.IsConfigured(section.AsEnumerable());
        services.AddOptions<RetentionOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>>(sp => new RetentionOptionsValidator(
            configured, sp.GetRequiredService<IServiceProviderIsService>().IsService(typeof(IRetentionStore))));
        services.AddSingleton<RetentionWatermark>();
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        services.AddSingleton<IHealthSection, RetentionHealth>();
        return services;
    }
}

/// <summary>Checks <see cref="RetentionOptions"/> at start-up, and that the store can apply them when they were set.</summary>
internal sealed class RetentionOptionsValidator(bool configured, bool storeHasRetention) : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var errors = options.Check().ToList();
        if (configured && options.Enabled && !storeHasRetention)
        {
            errors.Add(
                "EventBus:Retention is set, but this store cannot delete old events yet (it provides no IRetentionStore): " +
                "remove the EventBus:Retention settings or set EventBus:Retention:Enabled=false.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>The <c>retention</c> section of <c>/health</c> and <c>/api/v1/health</c>: the last pass's accounting.</summary>
internal sealed class RetentionHealth(RetentionService retention) : IHealthSection
{
    public string Key => "retention";

    public object Report() => retention.Status;
}
