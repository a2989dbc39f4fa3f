using Dapper;
using EventBus.Core.Store;

namespace EventBus.Sqlite;

/// <summary>Consumer positions (<see cref="IPositionStore"/>): one row per consumer, moved forward only.</summary>
public sealed partial class SqliteEventStore : IPositionStore
{
    /// <inheritdoc />
    public Task<long?> GetPositionAsync(string consumer, CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalar<long?>("SELECT position FROM consumer_positions WHERE consumer = @Consumer", new { Consumer = consumer }));

    /// <inheritdoc />
    public Task SavePositionAsync(string consumer, long position, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.Execute(
            """
            INSERT INTO consumer_positions (consumer, position, updated_at_ms) VALUES (@Consumer, @Position, @Now)
            ON CONFLICT (consumer) DO UPDATE SET position = MAX(position, excluded.position), updated_at_ms = excluded.updated_at_ms
            """,
            new { Consumer = consumer, Position = position, Now = now.ToUnixTimeMilliseconds() }, w.Transaction), cancellationToken);
}
