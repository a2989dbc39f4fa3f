using EventBus.Core.Retention;
using EventBus.Core.Security;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;
using EventBus.Postgres.Retention;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventBus.Postgres;

/// <summary>How the PostgreSQL store registers itself with a host.</summary>
public static class PostgresStoreServices
{
    /// <summary>
    /// Registers the PostgreSQL store for <c>EventBus:Store</c> (its <c>Path</c> is a <c>postgres://</c> URL): options
    /// (validated at start), the database, its parts as <see cref="IEventStore"/>, <see cref="IWebhookStore"/>,
    /// <see cref="ITokenStore"/>, <see cref="IPositionStore"/>, <see cref="IBusOverview"/> and retention (<see cref="IRetentionStore"/>), a
    /// <see cref="StoreDescriptor"/> (no data folder: files a node would keep go in the database), the shared
    /// webhook-secret key ring as an <see cref="IXmlRepository"/>, <see cref="PostgresNodeStatus"/>, and the listener
    /// that wakes this node for other nodes' commits. The host provides an <see cref="ICommitObserver"/>.
    /// </summary>
    public static IServiceCollection AddPostgresStore(this IServiceCollection services, IConfiguration storeSection)
    {
        services.AddOptions<PostgresStoreOptions>().Bind(storeSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PostgresStoreOptions>, PostgresStoreOptionsValidator>();
        services.AddSingleton(sp => new PostgresDatabase(
            sp.GetRequiredService<IOptions<PostgresStoreOptions>>().Value, sp.GetRequiredService<ICommitObserver>()));
        services.AddSingleton<IEventStore>(sp => new PostgresEventLog(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IWebhookStore>(sp => new PostgresWebhookStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IEventSubscriptionStore>(sp => (PostgresWebhookStore)sp.GetRequiredService<IWebhookStore>());
        services.AddSingleton<ITokenStore>(sp => new PostgresTokenStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IPositionStore>(sp => new PostgresPositionStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IBusOverview>(sp => new PostgresBusOverview(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IRetentionStore>(sp => new PostgresRetentionStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IXmlRepository>(sp => new PostgresKeyRepository(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton(sp => new PostgresNodeStatus(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton(sp => new StoreDescriptor("postgres", sp.GetRequiredService<PostgresDatabase>().Location, null));
        services.AddHostedService(sp => new PostgresListener(
            sp.GetRequiredService<PostgresDatabase>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PostgresListener>>()));
        return services;
    }
}

/// <summary>What /health says about this node's link to the database.</summary>
public sealed class PostgresNodeStatus
{
    private readonly PostgresDatabase _database;

    internal PostgresNodeStatus(PostgresDatabase database) => _database = database;

    /// <summary>Whether the notification listener is connected (other nodes' commits wake this node at once).</summary>
    public bool ListenerConnected => _database.ListenerConnected;

    /// <summary>This node's name in webhook leases.</summary>
    public string NodeId => _database.NodeId;
}

/// <summary>Checks <see cref="PostgresStoreOptions"/> at start-up, naming each bad setting.</summary>
internal sealed class PostgresStoreOptionsValidator : IValidateOptions<PostgresStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        var errors = new List<string>();
        try
        {
            PostgresUrl.Parse(options.Path);
        }
        catch (FormatException ex)
        {
            errors.Add($"EventBus:Store:Path (EVENTBUS_DB): {ex.Message}");
        }

        if (options.MaxGroupSize is < 1 or > 10_000)
        {
            errors.Add($"EventBus:Store:MaxGroupSize must be between 1 and 10000 (got {options.MaxGroupSize}).");
        }

        if (options.BackstopInterval <= TimeSpan.Zero)
        {
            errors.Add($"EventBus:Store:BackstopInterval must be positive, e.g. \"00:00:02\" (got {options.BackstopInterval}).");
        }

        if (options.WebhookLease < TimeSpan.FromSeconds(5))
        {
            errors.Add($"EventBus:Store:WebhookLease must be at least 00:00:05 (got {options.WebhookLease}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
