namespace EventBus.Server.Mqtt.Endpoint;

/// <summary>The bus's own MQTT endpoint: when it started, where it listens, and what it carried (for <c>/health</c>).</summary>
internal sealed class MqttEndpointState
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _clients;
    private long _in;
    private long _out;
    private long _refused;

    /// <summary>Completes when the MQTT server accepts clients.</summary>
    public Task Started => _started.Task;

    /// <summary>Kestrel's listener for MQTT over TCP (null: none); its end point holds the real port once bound.</summary>
    public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Listener { get; set; }

    /// <summary>The TCP listener's port once bound (null: no TCP listener).</summary>
    public int? TcpPort => (Listener?.EndPoint as System.Net.IPEndPoint)?.Port;

    /// <summary>Whether <c>/mqtt</c> serves MQTT over WebSocket.</summary>
    public bool WebSocket { get; set; }

    public long MessagesIn => Interlocked.Read(ref _in);

    public long MessagesOut => Interlocked.Read(ref _out);

    public void MarkStarted() => _started.TrySetResult();

    /// <summary>Raised after a client connects or disconnects.</summary>
    public Core.Events.ChangeSignal ClientsChanged { get; } = new();

    public void ClientConnected()
    {
        Interlocked.Increment(ref _clients);
        ClientsChanged.Notify();
    }

    public void ClientDisconnected()
    {
        Interlocked.Decrement(ref _clients);
        ClientsChanged.Notify();
    }

    public void AddIn() => Interlocked.Increment(ref _in);

    public void AddOut() => Interlocked.Increment(ref _out);

    public void AddRefused() => Interlocked.Increment(ref _refused);

    public MqttEndpointReport Report() => new(
        Started.IsCompletedSuccessfully, TcpPort, WebSocket ? "/mqtt" : null, Interlocked.Read(ref _clients), MessagesIn, MessagesOut,
        Interlocked.Read(ref _refused));
}

/// <summary>The endpoint in <c>/health</c>.</summary>
internal sealed record MqttEndpointReport(
    bool Running, int? TcpPort, string? WebSocketPath, long Clients, long MessagesIn, long MessagesOut, long MessagesRefused);
