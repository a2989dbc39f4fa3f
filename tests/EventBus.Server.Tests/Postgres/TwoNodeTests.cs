using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Npgsql;

namespace EventBus.Server.Tests.Postgres;

/// <summary>
/// Two EventBus nodes (two hosts in this process, each with its own store, writer and listener) on one PostgreSQL
/// database: what one node commits wakes the other, and work that must happen once happens once.
/// </summary>
[Trait("Store", "Postgres")]
public sealed class TwoNodeTests : IAsyncLifetime
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
    private BusHost _a = null!;
    private BusHost _b = null!;

    public async Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
        {
            throw new InvalidOperationException("two-node tests run against PostgreSQL: set EVENTBUS_TEST_STORE=postgres (make test does).");
        }

        _a = await BusHost.StartInAsync(_directory, false, AllowPrivate);
        _a.KeepDirectory = true;
        _b = await BusHost.StartInAsync(_directory, false, AllowPrivate);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync(); // the last one drops the database
    }

    [Fact]
    public async Task ADirectMessagePublishedOnA_IsPushedToASessionOnB()
    {
        var inbox = Channel.CreateUnbounded<JsonElement>();
        var listener = await _b.ConnectAsync(options => options.Handlers = new McpClientHandlers
        {
            NotificationHandlers =
            [
                new("notifications/claude/channel", (notification, _) =>
                {
                    inbox.Writer.TryWrite(JsonSerializer.SerializeToElement(notification.Params));
                    return ValueTask.CompletedTask;
                }),
            ],
        });
        var me = (await listener.CallAsync("register_session", new { name = "on-b", machine = "m" })).Str("session_id");
        var sender = await _a.ConnectAsync();
        await sender.CallAsync("register_session", new { name = "on-a", machine = "m" });

        await sender.CallAsync("publish_event", new { event_type = "help_needed", payload = "review PR 12?", channel = "session:" + me });

        var pushed = await inbox.Reader.ReadAsync(TestTimeouts.Token());
        pushed.GetProperty("meta").Str("channel").Should().Be("session:" + me);
        pushed.GetProperty("meta").Str("event_type").Should().Be("help_needed");
    }

    [Fact]
    public async Task ALongPollOnB_ReturnsForAPublishOnA()
    {
        var reader = await _b.ConnectAsync();
        var tip = (await reader.CallAsync("get_events", new { limit = 1 })).Str("next_cursor");
        var poll = reader.CallAsync("get_events", new { cursor = tip, wait_seconds = 60 });

        var id = await _a.PublishAsync("from_a");

        var reply = await poll.WaitAsync(TestTimeouts.Default);
        reply.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().Equal(id);
    }

    [Fact]
    public async Task AnSseStreamOnB_WithLastEventId_ResumesExactlyAfterIt_ThenGetsLivePublishesFromA()
    {
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await _a.PublishAsync($"e{i}"));
        }

        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream?cursor=0");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Add("Last-Event-ID", ids[1].ToString(CultureInfo.InvariantCulture));
        using var response = await _b.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
        await using var events = SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator(TestTimeouts.Token());

        (await NextIdAsync(events)).Should().Be(ids[2]);
        (await NextIdAsync(events)).Should().Be(ids[3]);
        var next = NextIdAsync(events);
        var live = await _a.PublishAsync("live");
        (await next).Should().Be(live);
    }

    [Fact]
    public async Task AWebhookRegisteredOnce_IsDeliveredOncePerEvent_WithBothNodesRunning_AndSignedWithTheSharedKeys()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var client = await _a.ConnectAsync();
        var reply = await client.CallAsync("register_webhook", new { url = receiver.Url(), channel = "hooks" });
        var secret = reply.Str("secret");

        var published = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            published.Add(await (i % 2 == 0 ? _a : _b).PublishAsync($"e{i}", "hooks"));
        }

        var requests = await receiver.WaitForAsync(published.Count);
        // Every event exactly once: wait until both nodes have nothing pending, then count again.
        // Either node may send: check after each attempt recorded (or lane asleep) on either.
        await Waiting.UntilAsync(
            async () => (await _b.Service<Core.Webhooks.IWebhookStore>().GetOutboxStatsAsync(CancellationToken.None)).Pending == 0,
            _ => Task.WhenAny(
                _a.Service<EventBus.Server.Webhooks.WebhookDispatcher>().Changed.NextAsync(),
                _b.Service<EventBus.Server.Webhooks.WebhookDispatcher>().Changed.NextAsync()));
        requests = receiver.Requests;
        requests.Select(r => r.Json.GetProperty("event_id").GetInt64()).Should().BeEquivalentTo(published, "each event once, in order")
            .And.BeInAscendingOrder();
        requests.Should().OnlyContain(r => Verifies(r, secret), "both nodes sign with the key ring kept in the database");
    }

    [Fact]
    public async Task TheGapRace_ALowerIdCommittingLast_IsNeverSkipped_ByAReaderOnEitherNode()
    {
        // Node A's writer is simulated mid-group by hand: it holds the id counter and has inserted the next id, not yet
        // committed. Node B's publish must wait for it (so it cannot commit a higher id first), and a reader following
        // the log sees nothing past the tip until the lower id commits; then both, in order.
        var tip = long.Parse((await (await _b.ConnectAsync()).CallAsync("get_events", new { limit = 1 })).Str("next_cursor"), CultureInfo.InvariantCulture);
        var url = TestStore.PostgresDatabaseFor(_directory);
        await using var connection = new NpgsqlConnection(EventBus.Postgres.PostgresUrl.Parse(url).ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        long lower;
        await using (var take = new NpgsqlCommand("SELECT last_id + 1 FROM event_counter FOR UPDATE", connection, transaction))
        {
            lower = (long)(await take.ExecuteScalarAsync())!;
        }

        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO events (id, event_type, payload, session_id, timestamp_ms, channel, signal_level)
            VALUES (@id, 'slow', 'lower id, committed last', 'system', 0, 'race', 1);
            UPDATE event_counter SET last_id = @id;
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("id", lower);
            await insert.ExecuteNonQueryAsync();
        }

        var higher = _b.PublishAsync("fast", "race");
        // Waiting on a lock inside PostgreSQL raises nothing the test can await: re-check pg_locks on real time.
        await Waiting.UntilAsync(
            async () => await CountWaitingOnLocksAsync(connection) > 0,
            token => Task.Delay(TimeSpan.FromMilliseconds(20), token));
        var readerB = await _b.ConnectAsync();
        var readerA = await _a.ConnectAsync();
        foreach (var reader in new[] { readerA, readerB })
        {
            var page = await reader.CallAsync("get_events", new { cursor = tip.ToString(CultureInfo.InvariantCulture), order = "asc", limit = 10 });
            page.GetProperty("events").GetArrayLength().Should().Be(0, "nothing past the tip has committed");
            page.Str("next_cursor").Should().Be(tip.ToString(CultureInfo.InvariantCulture), "a reader never moves past an uncommitted id");
        }

        await transaction.CommitAsync();
        var higherId = await higher;
        higherId.Should().BeGreaterThan(lower);
        foreach (var reader in new[] { readerA, readerB })
        {
            var page = await reader.CallAsync("get_events", new { cursor = tip.ToString(CultureInfo.InvariantCulture), order = "asc", limit = 10 });
            page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().Equal(lower, higherId);
        }
    }

    [Fact]
    public async Task ConcurrentPublishesOnBothNodes_AFollowerOnEachNode_SeesEveryIdOnce_InOrder()
    {
        const int PerNode = 150;
        var tip = long.Parse((await (await _a.ConnectAsync()).CallAsync("get_events", new { limit = 1 })).Str("next_cursor"), CultureInfo.InvariantCulture);
        var publishers = new[] { _a, _b }.SelectMany(node => Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
        {
            var ids = new List<long>();
            for (var i = 0; i < PerNode / 2; i++)
            {
                ids.Add(await node.PublishAsync($"p{p}-{i}", "race"));
            }

            return ids;
        }))).ToList();

        var followers = new[] { _a, _b }.Select(node => FollowAsync(node, tip, 2 * PerNode)).ToList();
        var acknowledged = (await Task.WhenAll(publishers)).SelectMany(ids => ids).Order().ToList();
        var seen = await Task.WhenAll(followers);

        foreach (var ids in seen)
        {
            ids.Should().Equal(acknowledged, "a follower reading by cursor gets every committed id once, in order, with no gap skipped");
        }
    }

    private static async Task<List<long>> FollowAsync(BusHost node, long after, int count)
    {
        var ids = new List<long>();
        var cursor = after;
        while (ids.Count < count)
        {
            var page = await node.GetJsonAsync($"/api/v1/events?cursor={cursor}&order=asc&limit=50");
            foreach (var e in page.GetProperty("events").EnumerateArray())
            {
                ids.Add(e.GetProperty("id").GetInt64());
            }

            cursor = long.Parse(page.Str("next_cursor"), CultureInfo.InvariantCulture);
        }

        return ids;
    }

    private static async Task<long> CountWaitingOnLocksAsync(NpgsqlConnection observer)
    {
        await using var command = new NpgsqlCommand(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            observer);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> NextIdAsync(IAsyncEnumerator<SseItem<string>> events)
    {
        (await events.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Default)).Should().BeTrue("the stream should stay open");
        return long.Parse(events.Current.EventId!, CultureInfo.InvariantCulture);
    }

    /// <summary>An independent Standard Webhooks verifier: HMAC-SHA256 over "id.timestamp.body".</summary>
    private static bool Verifies(ReceivedRequest r, string secret)
    {
        var key = Convert.FromBase64String(secret.Split('_', 2)[1]);
        var signed = Encoding.UTF8.GetBytes($"{r.Header("webhook-id")}.{r.Header("webhook-timestamp")}.").Concat(r.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
        return r.Header("webhook-signature").Split(' ').Contains(expected);
    }

    [Fact]
    public async Task APermissionRequest_AnsweredOnBothNodesAtOnce_IsAnsweredExactlyOnce()
    {
        // The first valid answer wins across nodes: answers racing on A and B, one is stored, the others are told.
        var requester = await _a.ConnectAsync();
        var session = (await requester.CallAsync("register_session", new { name = "asker", machine = "m", cwd = "/r", client_id = "asker" })).Str("session_id");
        await requester.CallAsync("publish_event", new
        {
            event_type = "permission_request",
            payload = "{\"request_id\":\"race1\",\"tool_name\":\"Bash\"}",
            session_id = session,
            channel = "approvals:race",
            correlation_id = "permission:race1",
            signal_level = "actionable",
        });

        var answers = Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await (i % 2 == 0 ? _a : _b).Http.PostAsJsonAsync(
                "/api/v1/permissions/race1", new { behavior = i % 4 < 2 ? "allow" : "deny" });
            return response.StatusCode;
        }).ToList();
        var statuses = await Task.WhenAll(answers);
        statuses.Count(s => s == System.Net.HttpStatusCode.OK).Should().Be(1, $"one answer wins ({string.Join(", ", statuses)})");
        statuses.Count(s => s == System.Net.HttpStatusCode.Conflict).Should().Be(7, "the others are told it was already answered");

        var log = await (await _b.ConnectAsync()).CallAsync("get_events", new
        {
            cursor = "0",
            order = "asc",
            limit = 50,
            channel = "approvals:race",
            event_types = new[] { "permission_response" },
        });
        log.GetProperty("events").GetArrayLength().Should().Be(1, "exactly one answer is in the log");
    }
}
