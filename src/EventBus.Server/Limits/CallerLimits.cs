using System.Threading.RateLimiting;
using EventBus.Server.Hosting;
using Microsoft.Extensions.Options;

namespace EventBus.Server.Limits;

/// <summary>A request over a limit: which limit, what to tell the caller, and when to retry (when that is known).</summary>
internal sealed record LimitRefusal(string Limit, string Message, TimeSpan? RetryAfter)
{
    /// <summary>Whole seconds for <c>Retry-After</c>, rounded up, at least 1.</summary>
    public int? RetryAfterSeconds => RetryAfter is { } wait ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : null;
}

/// <summary>
/// The per-caller limits the endpoints ask before doing the work: publish and <c>register_session</c> rates
/// (token buckets partitioned by <see cref="CallerKey"/>), and caps on open MCP sessions and streams.
/// </summary>
internal sealed class CallerLimits : IDisposable
{
    private readonly LimitsOptions _options;
    private readonly PartitionedRateLimiter<string>? _publish;
    private readonly PartitionedRateLimiter<string>? _register;
    private readonly CallerCounter _sessions = new();
    private readonly CallerCounter _streams = new();
    private int _openStreams;

    public CallerLimits(IOptions<ServerOptions> options, TimeProvider time)
    {
        _options = options.Value.Limits;
        _publish = Buckets(_options.PublishPerSecond, _options.PublishBurst, time);
        _register = Buckets(_options.RegisterPerMinute / 60.0, _options.RegisterBurst, time);
    }

    /// <summary>Takes <paramref name="events"/> publish permits; null when allowed.</summary>
    public LimitRefusal? TryPublish(HttpContext context, int events = 1) =>
        TryPublish(CallerKey.Of(context), CallerKey.IsLocalWithoutToken(context), events);

    /// <summary>
    /// The same for a caller that is not an HTTP request (an MQTT client): <paramref name="callerKey"/> is
    /// <c>token:&lt;id&gt;</c> or <c>ip:&lt;address&gt;</c>, as <see cref="CallerKey.Of"/> makes it.
    /// </summary>
    public LimitRefusal? TryPublish(string callerKey, bool localWithoutToken, int events = 1)
    {
        if (_publish is null || (_options.ExemptLoopback && localWithoutToken))
        {
            return null;
        }

        return Acquire(_publish, callerKey, events) is not { } wait
            ? null
            : Refused(new LimitRefusal("publish", $"Rate limit: a caller may publish {_options.PublishPerSecond} events per second, in bursts of up to " +
                $"{_options.PublishBurst} (a batch counts each event; EventBus:Limits:PublishPerSecond, PublishBurst). Retry after {Seconds(wait)} s.", wait));
    }

    /// <summary>Takes a <c>register_session</c> permit; null when allowed.</summary>
    public LimitRefusal? TryRegister(HttpContext context)
    {
        if (_register is null || Exempt(context))
        {
            return null;
        }

        return Acquire(_register, CallerKey.Of(context), 1) is not { } wait
            ? null
            : Refused(new LimitRefusal("register", $"Rate limit: a caller may register {_options.RegisterPerMinute} sessions per minute, in bursts of up to " +
                $"{_options.RegisterBurst} (EventBus:Limits:RegisterPerMinute, RegisterBurst). Retry after {Seconds(wait)} s.", wait));
    }

    /// <summary>Holds one of the caller's MCP session places until <paramref name="slot"/> is disposed; a refusal when none is left.</summary>
    public LimitRefusal? TryOpenSession(HttpContext context, out IDisposable slot) =>
        TryHold(_sessions, _options.MaxSessionsPerCaller, context, out slot)
            ? null
            : Refused(new LimitRefusal("sessions", $"Too many MCP sessions: a caller may hold {_options.MaxSessionsPerCaller} open at once " +
                "(EventBus:Limits:MaxSessionsPerCaller). Close sessions you no longer use (DELETE /mcp with their Mcp-Session-Id) " +
                "or wait for idle ones to expire (EventBus:Mcp:SessionIdleTimeout), then initialize again.", null));

    /// <summary>Holds one of the caller's stream places until <paramref name="slot"/> is disposed; a refusal when none is left.</summary>
    public LimitRefusal? TryOpenStream(HttpContext context, out IDisposable slot)
    {
        if (TryHold(_streams, _options.MaxStreamsPerCaller, context, out var held))
        {
            Interlocked.Increment(ref _openStreams);
            slot = new OpenStream(this, held);
            StreamsChanged.Notify();
            return null;
        }

        slot = held;
        return Refused(new LimitRefusal("streams", $"Too many open streams: a caller may hold {_options.MaxStreamsPerCaller} open at once " +
                "(MCP GET streams and /api/v1/stream together; EventBus:Limits:MaxStreamsPerCaller). Close one before opening another.", null));
    }

    /// <summary>Streams open now, every caller's together (exempt callers too).</summary>
    public int OpenStreams => Volatile.Read(ref _openStreams);

    /// <summary>Raised after a stream place is taken or given back.</summary>
    public Core.Events.ChangeSignal StreamsChanged { get; } = new();

    /// <summary>Open sessions and streams counted for a caller key (for tests and diagnostics).</summary>
    public (int Sessions, int Streams) Held(string callerKey) => (_sessions.Count(callerKey), _streams.Count(callerKey));

    public void Dispose()
    {
        _publish?.Dispose();
        _register?.Dispose();
    }

    private bool Exempt(HttpContext context) => _options.ExemptLoopback && CallerKey.IsLocalWithoutToken(context);

    private bool TryHold(CallerCounter counter, int max, HttpContext context, out IDisposable slot)
    {
        if (max == 0 || Exempt(context))
        {
            slot = CallerCounter.NoSlot;
            return true;
        }

        return counter.TryHold(CallerKey.Of(context), max, out slot);
    }

    private static TimeSpan? Acquire(PartitionedRateLimiter<string> limiter, string key, int permits)
    {
        using var lease = limiter.AttemptAcquire(key, permits);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
    }

    private static PartitionedRateLimiter<string>? Buckets(double perSecond, int burst, TimeProvider time)
    {
        if (perSecond <= 0)
        {
            return null;
        }

        Func<string, RateLimiter> create = _ => new ClockTokenBucket(perSecond, burst, time);
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.Get(key, create), StringComparer.Ordinal);
    }

    /// <summary>A held stream place that also counts in <see cref="OpenStreams"/> until disposed.</summary>
    private sealed class OpenStream(CallerLimits limits, IDisposable held) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref limits._openStreams);
                held.Dispose();
                limits.StreamsChanged.Notify();
            }
        }
    }

    // Every refusal, whichever transport answers it (REST, MCP, WebSocket, MQTT), is counted here where it is made.
    private static LimitRefusal Refused(LimitRefusal refusal)
    {
        Core.Diagnostics.BusTelemetry.RateLimitRefusals.Add(1, new KeyValuePair<string, object?>("limit", refusal.Limit));
        return refusal;
    }

    private static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}

/// <summary>How many of something each caller holds open; entries at zero are removed.</summary>
internal sealed class CallerCounter
{
    public static readonly IDisposable NoSlot = new Slot(null, "");

    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    public int Count(string key)
    {
        lock (_held)
        {
            return _held.GetValueOrDefault(key);
        }
    }

    public bool TryHold(string key, int max, out IDisposable slot)
    {
        lock (_held)
        {
            var held = _held.GetValueOrDefault(key);
            if (held >= max)
            {
                slot = NoSlot;
                return false;
            }

            _held[key] = held + 1;
        }

        slot = new Slot(this, key);
        return true;
    }

    private void Release(string key)
    {
        lock (_held)
        {
            if (_held.TryGetValue(key, out var held))
            {
                if (held <= 1)
                {
                    _held.Remove(key);
                }
                else
                {
                    _held[key] = held - 1;
                }
            }
        }
    }

    private sealed class Slot(CallerCounter? counter, string key) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (counter is not null && Interlocked.Exchange(ref _released, 1) == 0)
            {
                counter.Release(key);
            }
        }
    }
}
