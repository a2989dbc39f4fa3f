using Dapper;
using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>The SQLite store's consumer positions (<see cref="IPositionStore"/>): one row per consumer, moved forward only.</summary>
public sealed class SqlitePositionStore : IPositionStore
{
    private readonly SqliteDatabase _database;

    internal SqlitePositionStore(SqliteDatabase database) => _database = database;

    /// <inheritdoc />
    public Task<long?> GetPositionAsync(string consumer, CancellationToken cancellationToken) =>
        _database.ReadAsync(c => c.ExecuteScalar<long?>(
            "SELECT position FROM consumer_positions WHERE consumer = @Consumer", new { Consumer = consumer }));

    /// <inheritdoc />
    public Task SavePositionAsync(string consumer, long position, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.Writer.ExecuteAsync(w => w.Connection.Execute(
            """
            INSERT INTO consumer_positions (consumer, position, updated_at_ms) VALUES (@Consumer, @Position, @Now)
            ON CONFLICT (consumer) DO UPDATE SET position = MAX(position, excluded.position), updated_at_ms = excluded.updated_at_ms
            """,
            new { Consumer = consumer, Position = position, Now = now.ToUnixTimeMilliseconds() }, w.Transaction), cancellationToken);
}
