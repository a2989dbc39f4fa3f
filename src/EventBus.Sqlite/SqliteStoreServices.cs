using EventBus.Core.Retention;
using EventBus.Core.Security;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;
using EventBus.Sqlite.Retention;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventBus.Sqlite;

/// <summary>How the embedded store registers itself with a host.</summary>
public static class SqliteStoreServices
{
    /// <summary>
    /// Registers the SQLite store for <c>EventBus:Store</c> (<paramref name="storeSection"/>): its options (validated at
    /// start), the database, its three parts as <see cref="IEventStore"/>, <see cref="IWebhookStore"/> and
    /// <see cref="ITokenStore"/>, retention as <see cref="IRetentionStore"/>, a <see cref="StoreDescriptor"/>, and the WAL checkpoint service. The host provides
    /// an <see cref="ICommitObserver"/> and a <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddSqliteStore(this IServiceCollection services, IConfiguration storeSection)
    {
        services.AddOptions<SqliteStoreOptions>().Bind(storeSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>();
        services.AddSingleton(sp => new SqliteDatabase(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value, sp.GetRequiredService<ICommitObserver>()));
        services.AddSingleton<IEventStore>(sp => new SqliteEventLog(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IWebhookStore>(sp => new SqliteWebhookStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IEventSubscriptionStore>(sp => (SqliteWebhookStore)sp.GetRequiredService<IWebhookStore>());
        services.AddSingleton<ITokenStore>(sp => new SqliteTokenStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IPositionStore>(sp => new SqlitePositionStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IBusOverview>(sp => new SqliteBusOverview(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IRetentionStore>(sp => new SqliteRetentionStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton(sp =>
        {
            var path = Path.GetFullPath(sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.Path);
            return new StoreDescriptor("sqlite", path, Path.GetDirectoryName(path));
        });
        services.AddHostedService<SqliteCheckpointService>();
        return services;
    }
}

/// <summary>Checks <see cref="SqliteStoreOptions"/> at start-up, naming each bad setting.</summary>
internal sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            errors.Add("EventBus:Store:Path (EVENTBUS_DB) must name a database file.");
        }

        if (options.MaxGroupSize is < 1 or > 10_000)
        {
            errors.Add($"EventBus:Store:MaxGroupSize must be between 1 and 10000 (got {options.MaxGroupSize}).");
        }

        if (options.CheckpointInterval <= TimeSpan.Zero)
        {
            errors.Add($"EventBus:Store:CheckpointInterval must be positive, e.g. \"00:00:01\" (got {options.CheckpointInterval}).");
        }

        if (options.MaxWalFrames < 1000)
        {
            errors.Add($"EventBus:Store:MaxWalFrames must be at least 1000 (got {options.MaxWalFrames}).");
        }

        if (options.BusyTimeout < TimeSpan.Zero || options.BusyTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"EventBus:Store:BusyTimeout must be between 00:00:00 and 00:10:00 (got {options.BusyTimeout}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
