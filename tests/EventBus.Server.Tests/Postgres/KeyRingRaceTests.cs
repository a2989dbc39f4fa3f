using EventBus.Server.Tests.Support;
using EventBus.Server.Webhooks;

namespace EventBus.Server.Tests.Postgres;

/// <summary>
/// Two nodes started at the same moment on an empty database, each encrypting a webhook secret at once: no
/// duplicate-key failure, and each node decrypts what the other encrypted (the key ring lives in
/// <c>dataprotection_keys</c>, shared by both).
/// </summary>
[Trait("Store", "Postgres")]
public sealed class KeyRingRaceTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
    private BusHost _a = null!;
    private BusHost _b = null!;

    public async Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
        {
            throw new InvalidOperationException("key ring tests run against PostgreSQL: set EVENTBUS_TEST_STORE=postgres (make test does).");
        }

        var a = BusHost.StartInAsync(_directory);
        var b = BusHost.StartInAsync(_directory);
        (_a, _b) = (await a, await b);
        _a.KeepDirectory = true;
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync(); // the last one drops the database
    }

    [Fact]
    public async Task TwoNodesCreatingTheKeyRingAtOnce_EachDecryptWhatTheOtherEncrypted()
    {
        var onA = Task.Run(() => _a.Service<WebhookSecrets>().Protect("whsec_from_a"));
        var onB = Task.Run(() => _b.Service<WebhookSecrets>().Protect("whsec_from_b"));
        var (fromA, fromB) = (await Waiting.ForAsync(onA), await Waiting.ForAsync(onB));

        _b.Service<WebhookSecrets>().Unprotect(fromA).Should().Be("whsec_from_a");
        _a.Service<WebhookSecrets>().Unprotect(fromB).Should().Be("whsec_from_b");
    }
}
