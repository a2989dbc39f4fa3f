namespace EventBus.Bench;

/// <summary>The bench cannot go on: a server answered wrongly or a setting is bad. The message says which.</summary>
internal sealed class BenchException(string message) : Exception(message);
