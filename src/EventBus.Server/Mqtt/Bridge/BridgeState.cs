namespace EventBus.Server.Mqtt.Bridge;

/// <summary>What <c>/health</c> shows of one bridge: connected or not, the last error, and message counts.</summary>
internal sealed class BridgeState(string name, string broker)
{
    private readonly Lock _lock = new();
    private long _in;
    private long _out;
    private long _refused;
    private bool _connected;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private DateTimeOffset? _connectedSince;
    private long _connects;

    /// <summary>Raised after the bridge connects or disconnects and after messages go out.</summary>
    public Core.Events.ChangeSignal Changed { get; } = new();

    public bool IsConnected
    {
        get
        {
            lock (_lock)
            {
                return _connected;
            }
        }
    }

    /// <summary>How many times the bridge has connected (the first time included).</summary>
    public long Connects => Interlocked.Read(ref _connects);

    public long MessagesIn => Interlocked.Read(ref _in);

    public long MessagesOut => Interlocked.Read(ref _out);

    public void Connected(DateTimeOffset now)
    {
        lock (_lock)
        {
            _connected = true;
            _connectedSince = now;
        }

        Interlocked.Increment(ref _connects);
        Changed.Notify();
    }

    public void Disconnected()
    {
        lock (_lock)
        {
            _connected = false;
            _connectedSince = null;
        }

        Changed.Notify();
    }

    public void Failed(string error, DateTimeOffset now)
    {
        lock (_lock)
        {
            _lastError = error;
            _lastErrorAt = now;
        }
    }

    public void AddIn(int count) => Interlocked.Add(ref _in, count);

    public void AddOut(int count)
    {
        Interlocked.Add(ref _out, count);
        Changed.Notify();
    }

    /// <summary>A message that could not be mapped (an invalid channel, a topic the broker refused): counted and skipped.</summary>
    public void AddRefused() => Interlocked.Increment(ref _refused);

    public BridgeReport Report()
    {
        lock (_lock)
        {
            return new BridgeReport(
                name, broker, _connected, _connectedSince?.ToString("O"), Connects, MessagesIn, MessagesOut,
                Interlocked.Read(ref _refused), _lastError, _lastErrorAt?.ToString("O"));
        }
    }
}

/// <summary>One bridge in <c>/health</c>.</summary>
internal sealed record BridgeReport(
    string Name, string Broker, bool Connected, string? ConnectedSince, long Connects, long MessagesIn, long MessagesOut,
    long MessagesRefused, string? LastError, string? LastErrorAt);
