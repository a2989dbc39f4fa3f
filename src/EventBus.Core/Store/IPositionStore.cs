namespace EventBus.Core.Store;

/// <summary>
/// Durable positions of consumers that follow the log outside any session (an MQTT bridge's outbound side): the id of
/// the last event the consumer is done with, kept across restarts so it neither loses nor repeats a stretch.
/// </summary>
public interface IPositionStore
{
    /// <summary>The saved position of <paramref name="consumer"/>, or null when it never saved one.</summary>
    Task<long?> GetPositionAsync(string consumer, CancellationToken cancellationToken);

    /// <summary>Saves a position (never moves one back); returns after the commit.</summary>
    Task SavePositionAsync(string consumer, long position, DateTimeOffset now, CancellationToken cancellationToken);
}
