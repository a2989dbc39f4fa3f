namespace EventBus.Server.Mqtt;

/// <summary><c>EventBus:Mqtt</c>: bridges to existing brokers, and the bus's own MQTT endpoint (off by default).</summary>
internal sealed class MqttOptions
{
    /// <summary>One entry per broker, by name (<c>EventBus:Mqtt:Bridges:&lt;name&gt;</c>). Default: none.</summary>
    public Dictionary<string, MqttBridgeOptions> Bridges { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The TCP port of the bus's own MQTT endpoint, on the same address as HTTP (<c>EventBus:Host</c>), e.g. 1883; 0
    /// picks a free port. Default: null, no TCP listener.
    /// </summary>
    public int? Listen { get; set; }

    /// <summary>Serve MQTT over WebSocket at <c>/mqtt</c> on the HTTP port. Default false.</summary>
    public bool WebSocket { get; set; }

    /// <summary>Whether the bus's own endpoint is on (a TCP listener, <c>/mqtt</c>, or both).</summary>
    public bool EndpointEnabled => Listen is not null || WebSocket;
}

/// <summary>One bridge: a persistent MQTT session with one broker, and the rules that map topics and channels.</summary>
internal sealed class MqttBridgeOptions
{
    /// <summary>The broker: <c>mqtt://host:1883</c>, <c>mqtts://host:8883</c> (TLS), <c>ws://host/mqtt</c> or <c>wss://…</c>. Required.</summary>
    public string? Url { get; set; }

    /// <summary>The user name, if the broker wants one.</summary>
    public string? Username { get; set; }

    /// <summary>The password (put it in an environment variable, not appsettings.json).</summary>
    public string? Password { get; set; }

    /// <summary>The MQTT client id; it names the persistent session, so keep it stable. Default <c>eventbus-&lt;bridge name&gt;</c>.</summary>
    public string? ClientId { get; set; }

    /// <summary><c>5</c> (default) or <c>3.1.1</c>.</summary>
    public string ProtocolVersion { get; set; } = "5";

    /// <summary>How long the broker keeps the session (and queues QoS 1 messages) while the bridge is away. Default 1 day (MQTT 5).</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The MQTT keep-alive. Default 30 s.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first wait before reconnecting; it doubles after each failure up to <see cref="ReconnectMaxDelay"/>. Default 1 s.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between reconnects. Default 60 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Accept a TLS certificate that does not validate (a test broker). Default false.</summary>
    public bool AllowUntrustedCertificates { get; set; }

    /// <summary>Topics into the bus.</summary>
    public List<MqttInRule> In { get; set; } = [];

    /// <summary>Channels out to the broker.</summary>
    public List<MqttOutRule> Out { get; set; } = [];
}

/// <summary>Messages on topics matching <see cref="Topic"/> become events.</summary>
internal sealed class MqttInRule
{
    /// <summary>An MQTT topic filter (<c>plant/#</c>, <c>plant/+/alarm</c>). Required.</summary>
    public string? Topic { get; set; }

    /// <summary>The channel: <c>{topic}</c> is the message's topic, <c>{bridge}</c> the bridge's name. Default <c>mqtt:{topic}</c>.</summary>
    public string Channel { get; set; } = "mqtt:{topic}";

    /// <summary>The event type. Default <c>mqtt_message</c>.</summary>
    public string EventType { get; set; } = "mqtt_message";

    /// <summary>A fixed signal level (<c>lifecycle</c>, <c>info</c>, <c>actionable</c>). Default: the bus's rule for the channel.</summary>
    public string? Level { get; set; }

    /// <summary>Levels by topic filter, first match wins (<c>"plant/+/alarm": "actionable"</c>); over <see cref="Level"/>.</summary>
    public Dictionary<string, string> LevelByTopic { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A JSON payload's field (dotted path, <c>severity</c> or <c>meta.level</c>) holding the level; over the others when present and valid.</summary>
    public string? LevelField { get; set; }
}

/// <summary>Events on channels matching <see cref="Channel"/> are published to the broker.</summary>
internal sealed class MqttOutRule
{
    /// <summary>A channel pattern (<c>alerts:#</c>, <c>repo:*</c>, or a channel). Direct messages never go out. Required.</summary>
    public string? Channel { get; set; }

    /// <summary>
    /// The topic: <c>{channel}</c> is the event's channel, <c>{tail}</c> what the pattern's wildcard matched
    /// (<c>alerts:#</c> on <c>alerts:boiler</c>: <c>boiler</c>), <c>{event_type}</c> the type. Default <c>eventbus/{channel}</c>.
    /// </summary>
    public string Topic { get; set; } = "eventbus/{channel}";

    /// <summary>0 or 1. Default 1 (at least once: the position moves only after the broker's PUBACK).</summary>
    public int Qos { get; set; } = 1;

    /// <summary>Publish retained. Default false.</summary>
    public bool Retain { get; set; }

    /// <summary><c>payload</c> (default: the event's payload; a base64-tagged one as its bytes) or <c>event</c> (the event's JSON, as REST shows it).</summary>
    public string Format { get; set; } = "payload";
}
