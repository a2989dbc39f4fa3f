using Dapper;
using EventBus.Core.Store;

namespace EventBus.Postgres;

/// <summary>The PostgreSQL store's consumer positions: one row per consumer, moved forward only.</summary>
public sealed class PostgresPositionStore : IPositionStore
{
    private readonly PostgresDatabase _database;

    internal PostgresPositionStore(PostgresDatabase database) => _database = database;

    /// <inheritdoc />
    public Task<long?> GetPositionAsync(string consumer, CancellationToken cancellationToken) =>
        _database.ReadAsync(c => c.ExecuteScalarAsync<long?>(
            "SELECT position FROM consumer_positions WHERE consumer = @Consumer", new { Consumer = consumer }), cancellationToken);

    /// <inheritdoc />
    public Task SavePositionAsync(string consumer, long position, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.Writer.ExecuteAsync(w => w.Connection.ExecuteAsync(
            """
            INSERT INTO consumer_positions (consumer, position, updated_at_ms) VALUES (@Consumer, @Position, @Now)
            ON CONFLICT (consumer) DO UPDATE SET position = GREATEST(consumer_positions.position, excluded.position),
                updated_at_ms = excluded.updated_at_ms
            """,
            new { Consumer = consumer, Position = position, Now = now.ToUnixTimeMilliseconds() }, w.Transaction), cancellationToken);
}
