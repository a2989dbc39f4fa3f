using System.Net.Sockets;
using EventBus.Core.Store;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>
/// Turns a database that cannot be reached (down, restarting, refusing connections, out of disk, read-only) into
/// <see cref="StoreUnavailableException"/> naming host and port, and remembers the last such fault until a write
/// succeeds again, so /health says the store is not writable and the API answers 503 with Retry-After.
/// </summary>
internal sealed class PostgresFaults(string location)
{
    private volatile StoreUnavailableException? _current;

    public StoreUnavailableException? Current => _current;

    public StoreUnavailableException? Translate(Exception ex)
    {
        switch (ex)
        {
            case StoreUnavailableException already:
                return already;
            case PostgresException pg:
                return pg.SqlState switch
                {
                    "53100" => new StoreUnavailableException(StoreFault.DiskFull,
                        $"the PostgreSQL server {location} is out of disk space, so nothing can be stored; nothing already stored is lost.", pg)
                    { RetryAfter = TimeSpan.FromSeconds(30) },
                    "25006" => new StoreUnavailableException(StoreFault.ReadOnly,
                        $"the PostgreSQL server {location} is read-only (a standby, or default_transaction_read_only); nothing was changed.", pg)
                    { RetryAfter = TimeSpan.FromSeconds(30) },
                    "57P01" or "57P02" or "57P03" or "53300" or "08000" or "08003" or "08006" or "08001" or "08004" => Unreachable(pg),
                    _ => null,
                };
            case NpgsqlException npgsql:
                return Unreachable(npgsql);
            case SocketException or TimeoutException or IOException:
                return Unreachable(ex);
            default:
                return null;
        }
    }

    private StoreUnavailableException Unreachable(Exception ex) => new(
        StoreFault.Unreachable,
        $"the PostgreSQL server {location} cannot be reached ({ex.Message.TrimEnd('.')}); nothing was changed. " +
        "The bus retries by itself: check that the database is up and reachable from this node.",
        ex)
    { RetryAfter = TimeSpan.FromSeconds(5) };

    public void Record(StoreUnavailableException fault) => _current = fault;

    public void Clear()
    {
        if (_current is not null)
        {
            _current = null;
        }
    }
}
