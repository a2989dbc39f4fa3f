namespace EventBus.Server.Retention;

/// <summary>What <c>/health</c> says about retention, as of the last pass.</summary>
/// <param name="Enabled">Whether retention runs (false: disabled, or the store has none).</param>
/// <param name="DeletedThrough">The low-water mark: events at or below this id may have been deleted (0: none ever was).</param>
internal sealed record RetentionStatus(bool Enabled, long DeletedThrough, long DeletedTotal)
{
    /// <summary>The oldest event kept, by id.</summary>
    public long? OldestEventId { get; init; }

    /// <summary>When the oldest event kept was published.</summary>
    public string? OldestEventAt { get; init; }

    /// <summary>Events kept in all.</summary>
    public long? Events { get; init; }

    /// <summary>Space the data takes, in bytes.</summary>
    public long? UsedBytes { get; init; }

    /// <summary>Space held free inside the file (given back in steps after deletions).</summary>
    public long? FreeBytes { get; init; }

    /// <summary>The caps in force, when set.</summary>
    public long? MaxEvents { get; init; }

    /// <summary>The size cap in force, in MiB, when set.</summary>
    public long? MaxSizeMegabytes { get; init; }

    /// <summary>Each rule (the default last) with what it keeps.</summary>
    public IReadOnlyList<RuleStatus>? Rules { get; init; }

    /// <summary>When the last pass finished, and what it did.</summary>
    public string? LastPassAt { get; init; }

    /// <summary>Events the last pass deleted.</summary>
    public long? LastPassDeleted { get; init; }

    /// <summary>Bytes the last pass gave back to the file system.</summary>
    public long? LastPassReclaimedBytes { get; init; }

    /// <summary>Why the last pass failed, if it did.</summary>
    public string? Error { get; init; }
}

/// <summary>One rule and what it keeps now.</summary>
/// <param name="Channel">The rule's channel pattern; <c>default</c> for the default rule.</param>
/// <param name="MaxAge">How long it keeps events (<c>d.hh:mm:ss</c>); null: forever.</param>
internal sealed record RuleStatus(string Channel, string? MaxAge, long Events, long Bytes, long Channels)
{
    /// <summary>Its oldest kept event's id.</summary>
    public long? OldestEventId { get; init; }

    /// <summary>When its oldest kept event was published.</summary>
    public string? OldestEventAt { get; init; }
}
