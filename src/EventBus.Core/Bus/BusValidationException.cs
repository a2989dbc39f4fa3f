namespace EventBus.Core.Bus;

/// <summary>Bad input: the message says what was wrong and nothing was changed.</summary>
public sealed class BusValidationException(string message) : Exception(message);
