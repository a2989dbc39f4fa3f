using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite;

/// <summary>
/// Open, configured read connections. WAL lets them read while the writer commits; keeping them open keeps
/// SQLite's page cache warm and skips the pragmas on every read.
/// </summary>
internal sealed class ReaderPool(Func<SqliteConnection> open) : IDisposable
{
    private const int MaxIdle = 32;
    private readonly ConcurrentBag<SqliteConnection> _idle = [];
    private volatile bool _disposed;

    public SqliteConnection Rent() => _idle.TryTake(out var connection) ? connection : open();

    public void Return(SqliteConnection connection)
    {
        if (_disposed || _idle.Count >= MaxIdle)
        {
            connection.Dispose();
            return;
        }

        _idle.Add(connection);
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var connection))
        {
            connection.Dispose();
        }
    }
}
