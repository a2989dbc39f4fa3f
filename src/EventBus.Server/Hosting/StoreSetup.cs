using EventBus.Sqlite;

namespace EventBus.Server.Hosting;

/// <summary>Picks the store for <c>EventBus:Store</c>; each store registers itself (its types stay in its project).</summary>
internal static class StoreSetup
{
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfigurationSection storeSection) =>
        services.AddSqliteStore(storeSection);
}
