using EventBus.Core.Events;
using EventBus.Core.Store;
using EventBus.Postgres;
using EventBus.Server.Tests.Support;
using Npgsql;

namespace EventBus.Server.Tests.Postgres;

/// <summary>
/// The PostgreSQL writer sends a group made only of publishes as one statement (ids, events, traces, outbox, the
/// publishers' heartbeats, the NOTIFY) and a mixed group one operation at a time: both must store exactly what the
/// callers were told, whichever way a publish went.
/// </summary>
[Trait("Store", "Postgres")]
public sealed class PublishGroupTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
    private BusHost _host = null!;

    public async Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
        {
            throw new InvalidOperationException("publish group tests run against PostgreSQL: set EVENTBUS_TEST_STORE=postgres (make test does).");
        }

        _host = await BusHost.StartAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ConcurrentPublishesMixedWithAcks_StoreWhatEachCallerWasTold_WithThePublishersSessions()
    {
        var store = _host.Service<IEventStore>();
        var none = CancellationToken.None;
        var live = (await store.RegisterAsync(Register("live"), none)).Session.SessionId;
        var gone = (await store.RegisterAsync(Register("gone"), none)).Session.SessionId;
        await store.UnregisterAsync(gone, T0, Event("session_unregistered", gone, 0), none);
        var start = await store.GetTipAsync(none);

        var publishes = new List<(NewEvent Event, string? Publisher, Task<PublishOutcome> Outcome)>();
        var acks = new List<Task<AckOutcome>>();
        for (var i = 0; i < 240; i++)
        {
            switch (i % 4)
            {
                case 0:
                    var traced = Event("traced", live, i) with { TraceParent = $"00-{i:x32}-00f067aa0ba902b7-01" };
                    publishes.Add((traced, live, store.PublishAsync(traced, live, none)));
                    break;
                case 1:
                    var late = Event("late", gone, i);
                    publishes.Add((late, gone, store.PublishAsync(late, gone, none)));
                    break;
                case 2:
                    var anonymous = Event("anonymous", "anonymous", i);
                    publishes.Add((anonymous, null, store.PublishAsync(anonymous, null, none)));
                    break;
                default:
                    acks.Add(store.AckAsync(live, start, allowRewind: false, T0, none)); // not a publish: mixes the groups
                    break;
            }
        }

        await Waiting.ForAsync(Task.WhenAll(publishes.Select(p => p.Outcome)));
        await Waiting.ForAsync(Task.WhenAll(acks));

        var outcomes = publishes.Select(p => p.Outcome.Result).ToList();
        outcomes.Select(o => o.Event.Id).Should().OnlyHaveUniqueItems()
            .And.BeEquivalentTo(Enumerable.Range(1, publishes.Count).Select(n => start + n), "ids follow the tip without a gap");
        var stored = (await store.ReadEventsAsync(new EventQuery(start, 1000), none)).Events.ToDictionary(e => e.Id);
        stored.Should().HaveCount(publishes.Count);
        for (var i = 0; i < publishes.Count; i++)
        {
            var (sent, publisher, _) = publishes[i];
            var told = outcomes[i];
            stored[told.Event.Id].Should().BeEquivalentTo(told.Event, "what is stored is what the caller was told");
            told.Event.Should().BeEquivalentTo(sent, o => o.Excluding(e => e.TraceParent), "the event as it was sent");
            switch (publisher)
            {
                case null:
                    told.Publisher.Should().BeNull();
                    break;
                default:
                    told.Publisher!.SessionId.Should().Be(publisher);
                    (told.Publisher.DeletedAt is not null).Should().Be(publisher == gone, "the reply flags a deleted publisher");
                    break;
            }
        }

        var traces = await TracesAsync();
        traces.Should().BeEquivalentTo(publishes.Where(p => p.Event.TraceParent is not null)
            .ToDictionary(p => outcomes[publishes.IndexOf(p)].Event.Id, p => p.Event.TraceParent!));

        // A publish refreshes a live publisher's heartbeat, never a deleted one's.
        var goneBefore = (await store.GetSessionAsync(gone, none))!.LastHeartbeat;
        var later = T0.AddHours(1);
        await store.PublishAsync(Event("refresh", live, 0) with { Timestamp = later }, live, none);
        await store.PublishAsync(Event("refresh", gone, 0) with { Timestamp = later }, gone, none);
        (await store.GetSessionAsync(live, none))!.LastHeartbeat.Should().Be(later);
        (await store.GetSessionAsync(gone, none))!.LastHeartbeat.Should().Be(goneBefore);
    }

    private async Task<Dictionary<long, string>> TracesAsync()
    {
        var builder = PostgresUrl.Parse(TestStore.PostgresDatabaseFor(_host.Directory));
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT event_id, traceparent FROM event_traces", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var traces = new Dictionary<long, string>();
        while (await reader.ReadAsync())
        {
            traces[reader.GetInt64(0)] = reader.GetString(1);
        }

        return traces;
    }

    private static NewEvent Event(string type, string session, int i) => new(
        type, $"{{\"n\":{i}}}", session, T0.AddMilliseconds(i), "all", i % 3 == 0 ? $"corr-{i}" : null,
        (SignalLevel)(i % 3), i % 2 == 0 ? $"title {i}" : null, i % 5 == 0 ? ["a", $"t{i}"] : null);

    private static RegisterRequest Register(string name)
    {
        var id = Guid.NewGuid().ToString();
        return new(name, "m1", "/src/" + name, name, null, T0, id, () => name + "-" + id[..4],
            new NewEvent("session_registered", name + " started", id, T0, "all", null, SignalLevel.Lifecycle, null, null));
    }
}
