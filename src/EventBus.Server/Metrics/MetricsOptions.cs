namespace EventBus.Server.Metrics;

/// <summary>Metrics and traces. Bound from <c>EventBus:Metrics</c>; OTLP export follows the standard OTEL_* variables.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve the Prometheus scrape endpoint at <c>/metrics</c>. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the outbox and the database size are sampled for their gauges. Default 15 s.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(15);
}
