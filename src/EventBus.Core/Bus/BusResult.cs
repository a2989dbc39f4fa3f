namespace EventBus.Core.Bus;

/// <summary>
/// A bus call's answer: its reply, or a refusal the caller should read (session not found, deleted, a cursor refused).
/// Refusals are results, not exceptions, because the contract carries them as objects with an <c>error</c> key; malformed
/// input is a <see cref="BusValidationException"/> instead.
/// </summary>
/// <typeparam name="T">The reply.</typeparam>
public readonly struct BusResult<T>
    where T : class
{
    private BusResult(T? value, BusError? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The reply (null when refused).</summary>
    public T? Value { get; }

    /// <summary>The refusal (null when answered).</summary>
    public BusError? Error { get; }

    /// <summary>What goes on the wire: the reply or the refusal.</summary>
    public object ToWire() => (object?)Value ?? Error ?? throw new InvalidOperationException("An empty BusResult.");

    /// <summary>The reply, for callers that know the call cannot be refused.</summary>
    public T Expect() => Value ?? throw new InvalidOperationException($"Expected a reply, got the refusal \"{Error?.Error}\".");

    public static implicit operator BusResult<T>(T value) => new(value, null);

    public static implicit operator BusResult<T>(BusError error) => new(null, error);
}
