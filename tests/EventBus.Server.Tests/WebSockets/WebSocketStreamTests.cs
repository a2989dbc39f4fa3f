using System.Net;
using System.Text.Json;
using EventBus.Core.Bus;
using EventBus.Core.Security;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.WebSockets;

/// <summary>GET /api/v1/ws over the real host, with the runtime's ClientWebSocket.</summary>
public sealed class WebSocketStreamTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Subscribe_ReplaysFromTheCursor_ThenALiveEventArrives_AsTheSameJsonAsRest()
    {
        var a = await _host.PublishAsync("first");
        var b = await _host.PublishAsync("second");
        var c = await _host.PublishAsync("third");
        using var ws = await WsClient.ConnectAsync(_host);

        var subscribed = await ws.SubscribeAsync(cursor: a.ToString());
        subscribed.GetProperty("cursor").GetString().Should().Be(a.ToString());

        var replayed = await ws.ReceiveAsync();
        var rest = (await _host.GetJsonAsync($"/api/v1/events?cursor={a}&limit=1&order=asc")).GetProperty("events")[0];
        replayed.ToString().Should().Be(rest.ToString());
        replayed.GetProperty("id").GetInt64().Should().Be(b);
        (await ws.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(c);

        var next = ws.ReceiveAsync();
        var live = await _host.PublishAsync("live");
        var item = await next;
        item.GetProperty("id").GetInt64().Should().Be(live);
        item.GetProperty("event_type").GetString().Should().Be("live");
    }

    [Fact]
    public async Task Subscribe_ToAChannel_GetsOnlyThatChannel_AndWithoutACursorOnlyLiveEvents()
    {
        await _host.PublishAsync("old", "repo:x");
        using var ws = await WsClient.ConnectAsync(_host);
        await ws.SubscribeAsync(channel: "repo:x");

        await _host.PublishAsync("elsewhere", "repo:y");
        var mine = await _host.PublishAsync("mine", "repo:x");

        (await ws.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(mine);
    }

    [Fact]
    public async Task Publish_IsStored_AnsweredWithItsId_AndArrivesOnTheSubscription()
    {
        using var ws = await WsClient.ConnectAsync(_host);
        await ws.SubscribeAsync(channel: "alerts:ws");

        await ws.SendAsync(new { id = 7, publish = new { event_type = "hello", payload = "from ws", channel = "alerts:ws" } });

        // The answer and the event may come in either order: the event goes out from the subscription's own loop.
        var frames = new[] { await ws.ReceiveAsync(), await ws.ReceiveAsync() };
        var published = frames.Single(f => f.TryGetProperty("published", out _));
        published.GetProperty("id").GetInt32().Should().Be(7);
        var eventId = published.GetProperty("published").GetProperty("event_id").GetInt64();
        var delivered = frames.Single(f => !f.TryGetProperty("published", out _));
        delivered.GetProperty("id").GetInt64().Should().Be(eventId);
        delivered.GetProperty("payload").GetString().Should().Be("from ws");
        (await _host.StoredIdsAsync()).Should().Contain(eventId);
    }

    [Fact]
    public async Task Ack_SavesTheSessionsCursor_AndASubscribeNamingTheSessionResumesFromIt()
    {
        var session = await _host.Service<BusService>().RegisterSessionAsync("ws-reader", "m1", "/w", "ws-1", Actor.Open, TestTimeouts.Token());
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await _host.PublishAsync($"e{i}", "ws:acks"));
        }

        using (var ws = await WsClient.ConnectAsync(_host))
        {
            await ws.SubscribeAsync(channel: "ws:acks", cursor: (ids[0] - 1).ToString(), sessionId: session.SessionId);
            (await ws.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(ids[0]);
            (await ws.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(ids[1]);
            await ws.SendAsync(new { ack = ids[1].ToString() });
            JsonElement acked;
            do
            {
                acked = await ws.ReceiveAsync();
            }
            while (!acked.TryGetProperty("acked", out _));

            acked.GetProperty("acked").GetProperty("cursor").GetString().Should().Be(ids[1].ToString());
        }

        using var again = await WsClient.ConnectAsync(_host);
        var subscribed = await again.SubscribeAsync(channel: "ws:acks", sessionId: session.SessionId);
        subscribed.GetProperty("cursor").GetString().Should().Be(ids[1].ToString());
        (await again.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(ids[2]);
    }

    [Fact]
    public async Task Resume_WithTheLastEventIdSeen_MissesNothingAndRepeatsNothing()
    {
        var ids = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await _host.PublishAsync($"e{i}", "ws:resume"));
        }

        long last;
        using (var first = await WsClient.ConnectAsync(_host))
        {
            await first.SubscribeAsync(channel: "ws:resume", cursor: "0");
            (await first.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(ids[0]);
            last = (await first.ReceiveAsync()).GetProperty("id").GetInt64();
        }

        // Published while no one was connected.
        ids.Add(await _host.PublishAsync("e6", "ws:resume"));

        using var second = await WsClient.ConnectAsync(_host);
        await second.SubscribeAsync(channel: "ws:resume", cursor: last.ToString());
        var seen = new List<long>();
        for (var i = 2; i < ids.Count; i++)
        {
            seen.Add((await second.ReceiveAsync()).GetProperty("id").GetInt64());
        }

        seen.Should().Equal(ids.Skip(2));
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1,2]", "expected a JSON object")]
    [InlineData("{\"dance\":true}", "expected one of \"subscribe\", \"publish\" or \"ack\"")]
    [InlineData("{\"subscribe\":{\"cursor\":\"abc\"}}", "subscribe.cursor must be the decimal string of an event id")]
    [InlineData("{\"subscribe\":{\"chanel\":\"x\"}}", "unknown field \"chanel\"")]
    [InlineData("{\"publish\":{\"payload\":\"no type\"}}", "event_type is required")]
    [InlineData("{\"ack\":\"1\"}", "ack needs a session")]
    public async Task BadInput_IsAnsweredWithAClearErrorFrame_AndTheConnectionStaysUsable(string message, string expected)
    {
        using var ws = await WsClient.ConnectAsync(_host);

        await ws.SendAsync(message);
        var error = await ws.ReceiveAsync();
        error.GetProperty("error").GetProperty("message").GetString().Should().Contain(expected);

        await ws.SubscribeAsync();
        var live = await _host.PublishAsync("still-here");
        (await ws.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(live);
    }

    [Fact]
    public async Task BinaryFrame_IsAnsweredWithAnError()
    {
        using var ws = await WsClient.ConnectAsync(_host);
        await ws.SendBinaryAsync([1, 2, 3]);
        (await ws.ReceiveAsync()).GetProperty("error").GetProperty("message").GetString().Should().Contain("binary frames");
    }

    [Fact]
    public async Task PlainGet_Is426_PointingAtSse()
    {
        using var response = await _host.Http.GetAsync("/api/v1/ws", TestTimeouts.Token());
        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.UpgradeRequired)).Should().Contain("/api/v1/stream");
    }

    [Fact]
    public async Task ForeignOrigin_IsRefusedBeforeTheUpgrade()
    {
        (await WsClient.RefusedStatusAsync(_host, origin: "https://evil.example")).Should().Be(403);
    }

    [Fact]
    public async Task WithTokens_NoTokenIs401_ReadMayFollowButNotPublish_DirectMessagesOfOthersAreHidden()
    {
        var reader = await _host.CreateTokenAsync("ws-read", TokenScope.Read);
        var admin = await _host.CreateTokenAsync("ws-admin", TokenScope.Admin);
        (await WsClient.RefusedStatusAsync(_host)).Should().Be(401);

        using var ws = await WsClient.ConnectAsync(_host, reader);
        await ws.SubscribeAsync(cursor: "0");
        await ws.SendAsync(new { publish = new { event_type = "nope", payload = "x" } });
        (await ws.ReceiveAsync()).GetProperty("error").GetProperty("message").GetString().Should().Contain("publish scope");

        using var adminWs = await WsClient.ConnectAsync(_host, admin);
        await adminWs.SendAsync(new { publish = new { event_type = "secret", payload = "dm", channel = "session:someone-else" } });
        (await adminWs.ReceiveAsync()).TryGetProperty("published", out _).Should().BeTrue();
        await adminWs.SendAsync(new { publish = new { event_type = "public", payload = "hi", channel = "all" } });
        var publicId = (await adminWs.ReceiveAsync()).GetProperty("published").GetProperty("event_id").GetInt64();

        // The reader's next event is the public one: the direct message between was left out.
        (await ws.ReceiveAsync()).GetProperty("id").GetInt64().Should().Be(publicId);
    }

    [Fact]
    public async Task Reader_ThatStopsReading_IsCutOffAfterTheStallTimeout_AndGivesBackItsStreamSlot()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:Mcp:StreamStallTimeout=00:00:01", "--EventBus:Limits:ExemptLoopback=false");
        var limits = host.Service<Limits.CallerLimits>();
        using var wedged = await WsClient.ConnectAsync(host);
        await wedged.SendAsync(new { subscribe = new { channel = "all" } });
        await Waiting.UntilAsync(limits.StreamsChanged, () => limits.Held("ip:127.0.0.1").Streams == 1);

        // 16 MB of events, far more than the socket buffers hold: sends to a client that reads nothing block, and must be cut.
        var payload = new string('x', 60_000);
        for (var batch = 0; batch < 18; batch++)
        {
            var body = "[" + string.Join(',', Enumerable.Range(0, 15).Select(i =>
                $$"""{"event_type":"bulk","payload":"{{payload}}","channel":"all"}""")) + "]";
            using var response = await host.PostApiAsync("/api/v1/events:batch", body);
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        }

        await Waiting.UntilAsync(limits.StreamsChanged, () => limits.Held("ip:127.0.0.1").Streams == 0);
        await wedged.ReadUntilClosedAsync();
    }
}
