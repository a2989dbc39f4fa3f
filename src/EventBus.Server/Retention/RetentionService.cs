using System.Globalization;
using EventBus.Core.Events;
using EventBus.Core.Retention;
using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Retention;

/// <summary>
/// Deletes what the retention rules no longer keep, in small batches (each its own short transaction on the store's
/// writer, so publishes interleave with them), then gives the freed space back in steps. A pass: measure per channel,
/// delete by age rule by rule, then down to the caps, reclaim, and keep the accounting for <c>/health</c>. The low-water
/// mark it raises is what <see cref="Core.Bus.BusService"/> flags truncated reads with.
/// </summary>
internal sealed partial class RetentionService(
    IOptions<RetentionOptions> options,
    RetentionWatermark watermark,
    RecentEvents recent,
    TimeProvider time,
    ILogger<RetentionService> logger,
    IRetentionStore? store = null) : PeriodicService(time)
{
    // Space given back per step (each step holds the writer alone briefly), and per pass.
    private const long ReclaimStepBytes = 4L << 20;
    private const long ReclaimPassBytes = 256L << 20;

    private readonly TimeProvider _time = time;
    private readonly RetentionPlan _plan = new(options.Value);
    private readonly SemaphoreSlim _pass = new(1, 1);
    private RetentionStatus _status = new(false, 0, 0);

    protected override TimeSpan Interval => options.Value.Interval;

    protected override bool RunAtStart => true;

    private bool Active => store is not null && options.Value.Enabled;

    /// <summary>The accounting of the last pass (the mark alone before the first).</summary>
    public RetentionStatus Status => _status;

    /// <summary>Loads the low-water mark before the server takes requests, so the first read is already flagged right.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (store is null)
        {
            LogNoRetention(logger);
        }
        else
        {
            try
            {
                var mark = await store.GetMarkAsync(cancellationToken);
                Advance(mark);
                _status = new RetentionStatus(options.Value.Enabled, mark.DeletedThrough, mark.DeletedTotal);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Unreadable just now (a lock held elsewhere): the first pass loads it; until then reads are not flagged.
                LogFailed(logger, ex);
            }
        }

        await base.StartAsync(cancellationToken);
    }

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (!Active)
        {
            return;
        }

        // Off the caller's thread: the store's reads run inline, and the first pass starts with the host.
        await Task.Yield();
        await _pass.WaitAsync(cancellationToken);
        try
        {
            await PassAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Keep the timer alive; the next pass retries.
            LogFailed(logger, ex);
            _status = _status with { Error = ex.Message };
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        var retention = store!;
        var mark = await retention.GetMarkAsync(cancellationToken);
        Advance(mark);
        var usage = await retention.GetUsageAsync(cancellationToken);
        var now = _time.GetUtcNow();
        long deleted = 0;
        foreach (var (rule, channels) in _plan.Assign(usage.Channels))
        {
            if (rule.MaxAge is not { } maxAge)
            {
                continue;
            }

            var cutoff = now - maxAge;
            var due = channels.Where(c => c.OldestAt < cutoff).Select(c => c.Channel).ToList();
            if (due.Count > 0)
            {
                (var count, mark) = await DeleteAsync(new RetentionSelection(due, cutoff), long.MaxValue, mark, cancellationToken);
                deleted += count;
            }
        }

        if (deleted > 0)
        {
            usage = await retention.GetUsageAsync(cancellationToken);
        }

        if (Excess(usage) is > 0 and var excess)
        {
            (var count, mark) = await DeleteAsync(new RetentionSelection(null, null), excess, mark, cancellationToken);
            deleted += count;
            usage = await retention.GetUsageAsync(cancellationToken);
        }

        long reclaimed = 0;
        while (reclaimed < ReclaimPassBytes && usage.FreeBytes > 0)
        {
            var step = await retention.ReclaimAsync(ReclaimStepBytes, cancellationToken);
            if (step == 0)
            {
                break;
            }

            reclaimed += step;
        }

        if (reclaimed > 0)
        {
            usage = await retention.GetUsageAsync(cancellationToken);
        }

        if (deleted > 0)
        {
            LogDeleted(logger, deleted, mark.DeletedThrough, reclaimed);
        }

        _status = Describe(usage, mark, now, deleted, reclaimed);
    }

    /// <summary>Raises the mark the bus reads, and drops what was deleted from the in-memory window followers read first.</summary>
    private void Advance(RetentionMark mark)
    {
        watermark.Advance(mark.DeletedThrough);
        recent.Forget(mark.DeletedThrough);
    }

    /// <summary>Deletes batch after batch until <paramref name="most"/> are gone or nothing more matches.</summary>
    private async Task<(long Deleted, RetentionMark Mark)> DeleteAsync(
        RetentionSelection selection, long most, RetentionMark mark, CancellationToken cancellationToken)
    {
        long deleted = 0;
        while (deleted < most)
        {
            var limit = (int)Math.Min(options.Value.BatchSize, most - deleted);
            var batch = await store!.DeleteAsync(selection, limit, cancellationToken);
            mark = batch.Mark;
            Advance(mark);
            deleted += batch.Deleted;
            if (batch.Deleted < limit)
            {
                break;
            }
        }

        return (deleted, mark);
    }

    /// <summary>How many of the oldest events must go to bring the store under its caps (0: it is under).</summary>
    private long Excess(StoreUsage usage)
    {
        var events = usage.Channels.Sum(c => c.Events);
        long excess = 0;
        if (options.Value.MaxEvents is { } maxEvents && events > maxEvents)
        {
            excess = events - maxEvents;
        }

        if (options.Value.MaxSizeMegabytes is { } maxMegabytes && events > 0 && usage.UsedBytes > maxMegabytes << 20)
        {
            // Estimated from the average event's share of the space; the next pass corrects what this misses.
            var perEvent = Math.Max(1.0, (double)usage.UsedBytes / events);
            excess = Math.Max(excess, (long)Math.Ceiling((usage.UsedBytes - (maxMegabytes << 20)) / perEvent));
        }

        return excess;
    }

    private RetentionStatus Describe(StoreUsage usage, RetentionMark mark, DateTimeOffset now, long deleted, long reclaimed)
    {
        var oldest = usage.Channels.MinBy(c => c.OldestId);
        var rules = _plan.Assign(usage.Channels).ToDictionary(a => a.Rule, a => a.Channels);
        return new RetentionStatus(true, mark.DeletedThrough, mark.DeletedTotal)
        {
            OldestEventId = oldest?.OldestId,
            OldestEventAt = oldest is null ? null : Timestamps.ToWire(usage.Channels.Min(c => c.OldestAt)),
            Events = usage.Channels.Sum(c => c.Events),
            UsedBytes = usage.UsedBytes,
            FreeBytes = usage.FreeBytes,
            MaxEvents = options.Value.MaxEvents,
            MaxSizeMegabytes = options.Value.MaxSizeMegabytes,
            Rules = _plan.Rules.Select(rule =>
            {
                var channels = rules.GetValueOrDefault(rule) ?? [];
                var first = channels.MinBy(c => c.OldestId);
                return new RuleStatus(
                    rule.Pattern?.Text ?? RetentionPlan.DefaultRuleName,
                    rule.MaxAge?.ToString("c", CultureInfo.InvariantCulture),
                    channels.Sum(c => c.Events), channels.Sum(c => c.Bytes), channels.Count)
                {
                    OldestEventId = first?.OldestId,
                    OldestEventAt = first is null ? null : Timestamps.ToWire(channels.Min(c => c.OldestAt)),
                };
            }).ToList(),
            LastPassAt = Timestamps.ToWire(now),
            LastPassDeleted = deleted,
            LastPassReclaimedBytes = reclaimed,
        };
    }

    public override void Dispose()
    {
        _pass.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information,
        Message = "Retention deleted {Count} events (everything up to event {DeletedThrough} may now be gone) and gave back {Reclaimed} bytes")]
    private static partial void LogDeleted(ILogger logger, long count, long deletedThrough, long reclaimed);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "A retention pass failed; the next one retries")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information,
        Message = "This store cannot delete old events (it provides no retention): events are kept forever")]
    private static partial void LogNoRetention(ILogger logger);
}
