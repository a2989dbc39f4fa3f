using System.Diagnostics.Metrics;
using EventBus.Core.Diagnostics;
using EventBus.Core.Store;
using EventBus.Core.Webhooks;
using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Metrics;

/// <summary>
/// The gauges a scrape reads: open MCP sessions and streams (counted in memory), and the outbox and database sizes,
/// which need the store and so are sampled on a timer (a scrape never waits on the database).
/// </summary>
internal sealed partial class StoreGauges : PeriodicService
{
    private readonly IEventStore _events;
    private readonly IWebhookStore _webhooks;
    private readonly TimeProvider _time;
    private readonly IOptions<MetricsOptions> _options;
    private readonly ILogger<StoreGauges> _logger;
    private readonly Meter _meter;
    private OutboxStats _outbox = new(0, null);
    private StoreState? _state;

    public StoreGauges(
        IEventStore events,
        IWebhookStore webhooks,
        Mcp.McpSessionStore sessions,
        Limits.CallerLimits limits,
        IMeterFactory meters,
        TimeProvider time,
        IOptions<MetricsOptions> options,
        ILogger<StoreGauges> logger)
        : base(time)
    {
        _events = events;
        _webhooks = webhooks;
        _time = time;
        _options = options;
        _logger = logger;
        _meter = meters.Create(BusTelemetry.Name);
        _meter.CreateObservableUpDownCounter("eventbus.mcp.sessions", () => sessions.Count, "{session}", "Open MCP sessions");
        _meter.CreateObservableUpDownCounter("eventbus.streams.open", () => limits.OpenStreams, "{stream}",
            "Open event streams (MCP GET streams and /api/v1/stream)");
        _meter.CreateObservableUpDownCounter("eventbus.webhook.queue.depth", () => _outbox.Pending, "{delivery}",
            "Webhook deliveries waiting to be sent");
        _meter.CreateObservableGauge("eventbus.webhook.queue.oldest_age", OldestAge, "s",
            "How long the oldest pending webhook delivery has waited");
        _meter.CreateObservableUpDownCounter("eventbus.store.size", Sizes, "By", "The database's size on disk, by file (database, log)");
        _meter.CreateObservableGauge("eventbus.store.writable", () => _state is { Writable: false } ? 0 : 1, unit: null,
            "1 while the store takes writes, 0 while a full disk or a lock stops them (see /health)");
    }

    protected override TimeSpan Interval => _options.Value.SampleInterval;

    protected override bool RunAtStart => true;

    public override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            _outbox = await _webhooks.GetOutboxStatsAsync(cancellationToken);
            _state = await _events.GetStateAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The gauges keep their last values; /health says what is wrong with the store.
            LogSampleFailed(_logger, ex.Message);
        }
    }

    public override void Dispose()
    {
        _meter.Dispose();
        base.Dispose();
    }

    private double OldestAge() =>
        _outbox.OldestPendingSince is { } since ? Math.Max(0, (_time.GetUtcNow() - since).TotalSeconds) : 0;

    private IEnumerable<Measurement<long>> Sizes()
    {
        if (_state?.SizeBytes is { } database)
        {
            yield return new Measurement<long>(database, new KeyValuePair<string, object?>("file", "database"));
        }

        if (_state?.LogBytes is { } log)
        {
            yield return new Measurement<long>(log, new KeyValuePair<string, object?>("file", "log"));
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "Metrics: sampling the store failed ({Reason}); the gauges keep their last values")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}
