namespace EventBus.Core.Events;

/// <summary>A committed event: what every reader, stream and webhook sees.</summary>
public sealed record BusEvent(
    long Id,
    string EventType,
    string Payload,
    string SessionId,
    DateTimeOffset Timestamp,
    string Channel,
    string? CorrelationId,
    SignalLevel SignalLevel,
    string? Title,
    IReadOnlyList<string>? Tags);

/// <summary>An event about to be stored; the store assigns its id.</summary>
public sealed record NewEvent(
    string EventType,
    string Payload,
    string SessionId,
    DateTimeOffset Timestamp,
    string Channel,
    string? CorrelationId,
    SignalLevel SignalLevel,
    string? Title,
    IReadOnlyList<string>? Tags)
{
    /// <summary>The W3C traceparent of the span that published it (when tracing is on), kept with the event.</summary>
    public string? TraceParent { get; init; }
}
