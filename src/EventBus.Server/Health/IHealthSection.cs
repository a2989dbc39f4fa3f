namespace EventBus.Server.Health;

/// <summary>A feature's part of <c>/health</c> (the MQTT bridges, say): a top-level key and what it reports now.</summary>
internal interface IHealthSection
{
    string Key { get; }

    object Report();
}
