namespace EventBus.Server.Tests.Support;

/// <summary>The one timeout tests wait with: long enough for a loaded CI machine, short enough to fail fast.</summary>
internal static class TestTimeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    public static CancellationToken Token() => new CancellationTokenSource(Default).Token;
}
