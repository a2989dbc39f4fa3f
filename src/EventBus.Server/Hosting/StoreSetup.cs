using EventBus.Postgres;
using EventBus.Server.Health;
using EventBus.Sqlite;

namespace EventBus.Server.Hosting;

/// <summary>
/// Picks the store for <c>EventBus:Store</c>: a <c>postgres://</c> (or <c>postgresql://</c>) URL in its Path is the
/// PostgreSQL store (several nodes on one database); anything else is a SQLite file. Each store registers itself
/// (its types stay in its project).
/// </summary>
internal static class StoreSetup
{
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfigurationSection storeSection)
    {
        if (!PostgresStoreOptions.IsPostgresUrl(storeSection["Path"]))
        {
            return services.AddSqliteStore(storeSection);
        }

        services.AddPostgresStore(storeSection);
        services.AddSingleton<IHealthSection, PostgresHealthSection>();
        return services;
    }

    /// <summary>The <c>postgres</c> key of /health: whether other nodes' commits reach this node at once.</summary>
    private sealed class PostgresHealthSection(PostgresNodeStatus status) : IHealthSection
    {
        public string Key => "postgres";

        public object Report() => new Dictionary<string, object>
        {
            ["listener"] = status.ListenerConnected ? "connected" : "disconnected",
            ["node"] = status.NodeId,
        };
    }
}
