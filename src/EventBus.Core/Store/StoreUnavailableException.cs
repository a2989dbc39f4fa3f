namespace EventBus.Core.Store;

/// <summary>Why the store cannot take a write (or a read) right now. Nothing already stored is affected.</summary>
public enum StoreFault
{
    /// <summary>The disk holding the database is full: writes fail until space is freed.</summary>
    DiskFull,

    /// <summary>Another process holds a lock on the database for longer than the busy timeout.</summary>
    Locked,

    /// <summary>The database (or its folder) cannot be written: permissions, a read-only mount.</summary>
    ReadOnly,

    /// <summary>The database cannot be reached (a server store whose connection is down).</summary>
    Unreachable,
}

/// <summary>
/// The store could not do what was asked for a reason outside the request: the disk is full, the database is locked,
/// read-only or unreachable. The write was not done (and nothing acknowledged before is lost); the same request may
/// succeed later. Callers answer 507 (disk full) or 503 with Retry-After, never a bare 500.
/// </summary>
public sealed class StoreUnavailableException(StoreFault fault, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>What is wrong.</summary>
    public StoreFault Fault { get; } = fault;

    /// <summary>How long a client should wait before trying again.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(5);
}
