using System.Text.Json;
using EventBus.Postgres;
using EventBus.Server.Tests.Support;
using Npgsql;

namespace EventBus.Server.Tests.Postgres;

/// <summary>/health's <c>postgres.listener</c> follows the notification listener, which reconnects by itself.</summary>
[Trait("Store", "Postgres")]
public sealed class ListenerReconnectTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
        {
            throw new InvalidOperationException("listener tests run against PostgreSQL: set EVENTBUS_TEST_STORE=postgres (make test does).");
        }

        _host = await BusHost.StartAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AListenerWhoseBackendIsTerminated_Reconnects_AndHealthSaysSoThroughout()
    {
        var database = _host.Service<PostgresDatabase>();
        await Waiting.UntilAsync(database.ListenerChanged, () => database.ListenerConnected);
        (await ListenerHealthAsync()).Should().Be("connected");
        var first = database.ListenerPid!.Value;
        var states = new List<bool>();
        var watching = WatchAsync(database, first, states);

        await using (var admin = new NpgsqlConnection(TestStore.AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", admin);
            terminate.Parameters.AddWithValue("pid", first);
            ((bool)(await terminate.ExecuteScalarAsync())!).Should().BeTrue();
        }

        await Waiting.ForAsync(watching);
        database.ListenerPid.Should().NotBe(first, "it is a new connection");
        (await ListenerHealthAsync()).Should().Be("connected");
    }

    /// <summary>Records each listener state until it is connected again on another backend than <paramref name="first"/>.</summary>
    private static async Task WatchAsync(PostgresDatabase database, int first, List<bool> states)
    {
        while (true)
        {
            var next = database.ListenerChanged.NextAsync();
            var connected = database.ListenerConnected;
            if (states.Count == 0 || states[^1] != connected)
            {
                states.Add(connected);
            }

            if (connected && database.ListenerPid is { } pid && pid != first)
            {
                return;
            }

            await next;
        }
    }

    private async Task<string?> ListenerHealthAsync()
    {
        using var health = await _host.Http.GetAsync("/health", TestTimeouts.Token());
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        return body.GetProperty("postgres").GetProperty("listener").GetString();
    }
}
