using System.Net;
using System.Text.Json;
using EventBus.Postgres;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Postgres;

/// <summary>
/// PostgreSQL goes away under a running node and comes back: node A reaches the database through a proxy the test cuts
/// (every connection dropped, new ones refused, as a database that went down), node B directly. While it is gone A
/// answers at once with a clear error instead of hanging; once it is back, A serves again by itself, its listener
/// reconnects, and what B committed meanwhile reaches A's readers. Nothing acknowledged is lost.
/// </summary>
[Trait("Store", "Postgres")]
public sealed class OutageTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
    private TcpProxy _proxy = null!;
    private BusHost _a = null!;
    private BusHost _b = null!;

    public async Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
        {
            throw new InvalidOperationException("outage tests run against PostgreSQL: set EVENTBUS_TEST_STORE=postgres (make test does).");
        }

        var direct = new Uri(TestStore.PostgresDatabaseFor(_directory));
        _proxy = new TcpProxy(direct.Host, direct.Port);
        var proxied = new UriBuilder(direct) { Port = _proxy.Port }.Uri.ToString().TrimEnd('/');
        _a = await BusHost.StartOnDatabaseAsync(_directory, proxied);
        _a.KeepDirectory = true;
        _b = await BusHost.StartInAsync(_directory);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync(); // the last one drops the database
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task WhileTheDatabaseIsGone_PublishesFailAtOnce_HealthSaysSo_ThenTheNodeRecoversByItself_LosingNothing()
    {
        var database = _a.Service<PostgresDatabase>();
        await Waiting.UntilAsync(database.ListenerChanged, () => database.ListenerConnected);
        var before = await _a.PublishAsync("before");
        var client = await _a.ConnectAsync();

        _proxy.Cut();

        // REST: 503 with Retry-After and a problem naming the database; MCP: a tool error saying the same.
        using (var refused = await _a.PostApiAsync("/api/v1/events", """{"event_type":"during","payload":"p","channel":"all"}"""))
        {
            var detail = await ApiCalls.ProblemDetailAsync(refused, HttpStatusCode.ServiceUnavailable);
            detail.Should().Contain("cannot be reached").And.Contain($":{_proxy.Port}");
            refused.Headers.RetryAfter.Should().NotBeNull();
        }

        (await client.CallFailingAsync("publish_event", new { event_type = "during", payload = "p", channel = "all" }))
            .Should().Contain("cannot be reached");
        using (var health = await _a.Http.GetAsync("/health", TestTimeouts.Token()))
        {
            health.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            body.GetProperty("status").GetString().Should().NotBe("ok");
        }

        await Waiting.UntilAsync(database.ListenerChanged, () => !database.ListenerConnected);

        // Node B keeps working on the same database meanwhile.
        var duringOnB = await _b.PublishAsync("during_on_b");

        _proxy.Restore();

        // The listener reconnects by itself and its catch-up read brings B's event to A's readers.
        await Waiting.UntilAsync(database.ListenerChanged, () => database.ListenerConnected);
        var poll = client.CallAsync("get_events", new { cursor = before.ToString(System.Globalization.CultureInfo.InvariantCulture), limit = 10, wait_seconds = 60 });
        var first = await poll.WaitAsync(TestTimeouts.Default);
        first.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().Equal(duringOnB);

        // /health is ok again before anything is written; the same node writes again without a restart; a long-poll
        // on A wakes for B's publish.
        (await _a.GetJsonAsync("/health")).GetProperty("status").GetString().Should().Be("ok");
        var after = await _a.PublishAsync("after");
        var waiting = client.CallAsync("get_events", new { cursor = after.ToString(System.Globalization.CultureInfo.InvariantCulture), wait_seconds = 60 });
        var fromB = await _b.PublishAsync("after_on_b");
        (await waiting.WaitAsync(TestTimeouts.Default)).GetProperty("events").EnumerateArray()
            .Select(e => e.GetProperty("id").GetInt64()).Should().Equal(fromB);

        // Everything acknowledged is there, read from either node, in the same order; nothing refused was stored.
        var onA = await _a.StoredIdsAsync();
        onA.Should().Equal(before, duringOnB, after, fromB);
        (await _b.StoredIdsAsync()).Should().Equal(onA);
    }
}
