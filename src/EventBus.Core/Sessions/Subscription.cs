using EventBus.Core.Events;

namespace EventBus.Core.Sessions;

/// <summary>A session's push subscription: channels matching <see cref="Pattern"/>, at or above <see cref="MinLevel"/>.</summary>
public sealed record Subscription(string SessionId, string Pattern, SignalLevel MinLevel, DateTimeOffset CreatedAt);
