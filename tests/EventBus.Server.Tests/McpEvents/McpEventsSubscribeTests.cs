using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Core.Channels;
using EventBus.Core.Security;
using EventBus.Core.Webhooks;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;
using static EventBus.Server.Tests.McpEvents.EventsJsonRpc;

namespace EventBus.Server.Tests.McpEvents;

/// <summary>
/// events/subscribe and events/unsubscribe (webhook delivery) in raw JSON-RPC over the real host (manual clock), delivering
/// to a real HTTP receiver on loopback (private networks allowed). Waits are on the receiver, the delivery log and the
/// dispatcher's signal; time is moved, never waited for.
/// </summary>
public sealed class McpEventsSubscribeTests : IAsyncLifetime
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
    private BusHost _host = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _receiver.Respond = (request, _) => EchoChallenge(request);
        _host = await BusHost.StartAsync(manualTime: true, AllowPrivate);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private IWebhookStore Store => _host.Service<IWebhookStore>();

    private EventBus.Server.Webhooks.WebhookDispatcher Dispatcher => _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();

    /// <summary>What a receiver that wants deliveries answers: the verification envelope's challenge echoed, 200 to the rest.</summary>
    private static ReceiverAnswer EchoChallenge(ReceivedRequest request) =>
        IsControl(request, "verification")
            ? new ReceiverAnswer(200, Body: JsonSerializer.Serialize(new { challenge = request.Json.Str("challenge") }))
            : new ReceiverAnswer(200);

    private static bool IsControl(ReceivedRequest request, string type) =>
        request.Json.TryGetProperty("type", out var t) && t.GetString() == type;

    /// <summary>The event deliveries (bodies without a control <c>type</c>) that arrived on <paramref name="path"/>.</summary>
    private IReadOnlyList<ReceivedRequest> Events(string path) => EventsIn(_receiver.Requests, path);

    private static List<ReceivedRequest> EventsIn(IEnumerable<ReceivedRequest> requests, string path) =>
        [.. requests.Where(r => r.Path == path && !r.Json.TryGetProperty("type", out _))];

    private async Task<IReadOnlyList<ReceivedRequest>> WaitForEventsAsync(int count, string path)
    {
        await _receiver.WaitUntilAsync(requests => EventsIn(requests, path).Count >= count);
        return Events(path);
    }

    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The params of events/subscribe; <paramref name="ttlMs"/> is left out unless given (null is sent as null).</summary>
    private static JsonObject Params(object arguments, string url, string? secret, string? cursor = null, bool withTtl = false, long? ttlMs = null, long? maxAgeMs = null)
    {
        var p = new JsonObject
        {
            ["name"] = "bus.event",
            ["arguments"] = JsonSerializer.SerializeToNode(arguments),
            ["delivery"] = new JsonObject { ["mode"] = "webhook", ["url"] = url, ["secret"] = secret },
            ["cursor"] = cursor,
        };
        if (withTtl)
        {
            p["ttlMs"] = ttlMs;
        }

        if (maxAgeMs is { } age)
        {
            p["maxAgeMs"] = age;
        }

        return p;
    }

    private static JsonObject Unsubscribe(object arguments, string url) => new()
    {
        ["name"] = "bus.event",
        ["arguments"] = JsonSerializer.SerializeToNode(arguments),
        ["delivery"] = new JsonObject { ["url"] = url },
    };

    /// <summary>Waits until every delivery queued for the subscription is finished (sent, skipped or dead).</summary>
    private async Task<IReadOnlyList<Delivery>> SettledAsync(string id, int count)
    {
        IReadOnlyList<Delivery> deliveries = [];
        await Waiting.UntilAsync(Dispatcher.Changed, async () =>
        {
            deliveries = await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 1000), CancellationToken.None);
            return deliveries.Count >= count && deliveries.All(d => d.Status != DeliveryStatus.Pending);
        });
        return [.. deliveries.OrderBy(d => d.EventId)];
    }

    private void ShouldBeSigned(ReceivedRequest request, string secret, string subscriptionId)
    {
        request.Header("webhook-id").Should().Be(request.Json.Str("eventId"), "webhook-id carries the eventId");
        ShouldBeSignedControl(request, secret, subscriptionId);
    }

    /// <summary>Headed and signed like every delivery: Standard Webhooks with the client's secret, and X-MCP-Subscription-Id.</summary>
    private void ShouldBeSignedControl(ReceivedRequest request, string secret, string subscriptionId)
    {
        request.Header("X-MCP-Subscription-Id").Should().Be(subscriptionId);
        request.Header("X-Event-Bus-Signature").Should().BeEmpty("a subscription's deliveries carry the Standard Webhooks signature only");
        request.Header("content-type").Should().StartWith("application/json");
        WebhookSignatures.VerifyStandard(secret, request.Header("webhook-id"), request.Header("webhook-timestamp"), request.Header("webhook-signature"),
            request.Body, _host.Time!.GetUtcNow(), TimeSpan.FromMinutes(5)).Should().BeTrue("signed with the client's own secret");
    }

    [Fact]
    public async Task Subscribe_DeliversSignedOccurrences_TheEventsGetEventsShows_InItsOrder()
    {
        await PublishAsync(_host, "alerts:disk", "before", "not replayed: a null cursor starts from now");
        var secret = NewSecret();
        var url = _receiver.Url("/alerts");
        var reply = await ResultAsync(_host, "events/subscribe", Params(new { channel = "alerts:#", min_level = "info" }, url, secret));
        var id = reply.Str("id");
        id.Should().MatchRegex("^sub_[0-9a-f]{32}$");
        DateTimeOffset.Parse(reply.Str("refreshBefore"), System.Globalization.CultureInfo.InvariantCulture)
            .Should().Be(_host.Time!.GetUtcNow() + TimeSpan.FromHours(1), "no ttlMs: the default lifetime");
        reply.GetProperty("truncated").GetBoolean().Should().BeFalse();
        var start = reply.Str("cursor");
        reply.TryGetProperty("deliveryStatus", out _).Should().BeFalse("a new subscription has no delivery history");

        await PublishAsync(_host, "alerts:disk", "disk_full", "sda 99%", level: "actionable");
        await PublishAsync(_host, "other", "noise", "not on alerts");
        await PublishAsync(_host, "alerts", "heartbeat", "too quiet", level: "lifecycle");
        await PublishAsync(_host, "alerts", "note", "depth zero matches alerts:#");
        await PublishAsync(_host, "alertsX", "note", "a prefix is not a segment");
        await PublishAsync(_host, "alerts:net:eth0", "link_down", "eth0", level: "actionable");

        var pattern = ChannelPattern.Parse("alerts:#");
        var expected = (await GetEventsAsync(_host, start))
            .Where(e => pattern.Matches(e.Str("channel")) && e.Str("signal_level") != "lifecycle").ToList();
        expected.Should().HaveCount(3);
        var received = await WaitForEventsAsync(expected.Count, "/alerts");
        await SettledAsync(id, expected.Count);
        Events("/alerts").Should().HaveCount(expected.Count, "nothing else was sent");
        received.Select(r => r.Json.GetProperty("data")).Should().Equal(expected, (a, b) => JsonElement.DeepEquals(a, b),
            "each body's data is the event exactly as get_events shows it, in its order");
        foreach (var request in received)
        {
            ShouldBeSigned(request, secret, id);
            var body = request.Json;
            body.Str("name").Should().Be("bus.event");
            body.Str("cursor").Should().Be(body.Str("eventId"), "the watermark after the event (earlier ones are all settled)");
            body.TryGetProperty("timestamp", out _).Should().BeTrue();
        }
    }

    [Fact]
    public async Task Refresh_KeepsTheId_ExtendsTheExpiry_RotatesTheSecret_AndReportsDeliveryStatus()
    {
        var url = _receiver.Url("/r");
        var oldSecret = NewSecret();
        var first = await ResultAsync(_host, "events/subscribe", Params(new { }, url, oldSecret, withTtl: true, ttlMs: 120_000));
        DateTimeOffset.Parse(first.Str("refreshBefore"), System.Globalization.CultureInfo.InvariantCulture)
            .Should().Be(_host.Time!.GetUtcNow() + TimeSpan.FromMinutes(2), "the suggestion is granted");
        await PublishAsync(_host, "all", "one", "1");
        await WaitForEventsAsync(1, "/r");
        await SettledAsync(first.Str("id"), 1);

        _host.Time.Advance(TimeSpan.FromMinutes(1));
        var newSecret = NewSecret();
        var refreshed = await ResultAsync(_host, "events/subscribe", Params(new { }, url, newSecret, cursor: "0", withTtl: true, ttlMs: 600_000));
        refreshed.Str("id").Should().Be(first.Str("id"), "the id is derived from (principal, url, name, arguments)");
        DateTimeOffset.Parse(refreshed.Str("refreshBefore"), System.Globalization.CultureInfo.InvariantCulture)
            .Should().Be(_host.Time.GetUtcNow() + TimeSpan.FromMinutes(10));
        refreshed.GetProperty("truncated").GetBoolean().Should().BeFalse();
        var status = refreshed.GetProperty("deliveryStatus");
        status.GetProperty("active").GetBoolean().Should().BeTrue();
        status.GetProperty("lastError").ValueKind.Should().Be(JsonValueKind.Null);
        status.Str("lastDeliveryAt").Should().NotBeNullOrEmpty();

        var two = await PublishAsync(_host, "all", "two", "2");
        var requests = await WaitForEventsAsync(2, "/r");
        requests.Should().HaveCount(2, "a live subscription ignores the refresh's cursor: nothing is replayed");
        var second = requests[1];
        second.Json.Str("eventId").Should().Be(two.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ShouldBeSigned(second, newSecret, first.Str("id"));
        ShouldBeSigned(second, oldSecret, first.Str("id"));
        second.Header("webhook-signature").Split(' ').Should().HaveCount(2, "dual-signed during the rotation's grace window");
    }

    [Fact]
    public async Task Expiry_StopsDelivery_TheSweepEndsIt_AndResubscribingReplaysFromTheClientsCursor()
    {
        var url = _receiver.Url("/ttl");
        var secret = NewSecret();
        var reply = await ResultAsync(_host, "events/subscribe", Params(new { }, url, secret, withTtl: true, ttlMs: 1));
        var id = reply.Str("id");
        DateTimeOffset.Parse(reply.Str("refreshBefore"), System.Globalization.CultureInfo.InvariantCulture)
            .Should().Be(_host.Time!.GetUtcNow() + TimeSpan.FromMinutes(1), "a suggestion under the floor is raised to it");
        await PublishAsync(_host, "all", "early", "delivered");
        var early = (await WaitForEventsAsync(1, "/ttl")).Single();
        await SettledAsync(id, 1);

        _host.Time.Advance(TimeSpan.FromMinutes(1));
        var late = await PublishAsync(_host, "all", "late", "after the expiry");
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 100), CancellationToken.None))
            .Should().NotContain(d => d.EventId == late, "an expired subscription gets no more deliveries");

        await Dispatcher.ExpireSubscriptionsAsync(CancellationToken.None);
        var gone = await ErrorAsync(_host, "events/unsubscribe", Unsubscribe(new { }, url));
        gone.GetProperty("code").GetInt32().Should().Be(-32011);
        gone.GetProperty("data").Str("kind").Should().Be("subscription");

        // The client comes back with the cursor it persisted: the lapsed subscription starts again from there.
        var again = await ResultAsync(_host, "events/subscribe", Params(new { }, url, secret, cursor: early.Json.Str("cursor")));
        again.Str("id").Should().Be(id);
        again.GetProperty("truncated").GetBoolean().Should().BeFalse();
        again.TryGetProperty("deliveryStatus", out _).Should().BeFalse("a lapsed subscription starts afresh");
        var requests = await WaitForEventsAsync(2, "/ttl");
        requests[1].Json.Str("eventId").Should().Be(late.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ShouldBeSigned(requests[1], secret, id);
    }

    [Fact]
    public async Task Resubscribing_WithAStaleCursorBeyondMaxAge_IsTruncated()
    {
        var url = _receiver.Url("/age");
        await PublishAsync(_host, "all", "old", "an hour old");
        _host.Time!.Advance(TimeSpan.FromHours(1));
        var fresh = await PublishAsync(_host, "all", "fresh", "new");
        var reply = await ResultAsync(_host, "events/subscribe", Params(new { }, url, NewSecret(), cursor: "0", maxAgeMs: 60_000));
        reply.GetProperty("truncated").GetBoolean().Should().BeTrue("the event older than maxAgeMs was skipped");
        var requests = await WaitForEventsAsync(1, "/age");
        await SettledAsync(reply.Str("id"), 1);
        Events("/age").Select(r => r.Json.Str("eventId"))
            .Should().Equal(fresh.ToString(System.Globalization.CultureInfo.InvariantCulture));
        requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Unsubscribe_StopsDelivery_AndASecondUnsubscribeIsNotFound()
    {
        var url = _receiver.Url("/u");
        var id = (await ResultAsync(_host, "events/subscribe", Params(new { event_types = new[] { "b", "a" } }, url, NewSecret()))).Str("id");
        using (var listed = await _host.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_webhooks","arguments":{}}}"""))
        {
            var webhook = (await BusHost.FirstDataAsync(listed)).GetProperty("result").GetProperty("structuredContent").GetProperty("result")
                .EnumerateArray().Single();
            webhook.Str("webhook_id").Should().Be(id, "an admin sees the subscriptions the bus delivers to");
            var subscription = webhook.GetProperty("subscription");
            subscription.Str("principal").Should().Be("local", "a caller on this machine, on a bus without tokens");
            subscription.Str("arguments").Should().Be("""{"event_types":["b","a"]}""");
        }

        var ack = await ResultAsync(_host, "events/unsubscribe", Unsubscribe(new { event_types = new[] { "b", "a" } }, url));
        ack.EnumerateObject().Should().BeEmpty("the answer is a bare acknowledgement");
        var after = await PublishAsync(_host, "all", "a", "after unsubscribe");
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 100), CancellationToken.None)).Should().NotContain(d => d.EventId == after);
        (await Store.GetWebhookAsync(id, CancellationToken.None)).Should().BeNull();

        var again = await ErrorAsync(_host, "events/unsubscribe", Unsubscribe(new { event_types = new[] { "b", "a" } }, url));
        again.GetProperty("code").GetInt32().Should().Be(-32011);
        again.GetProperty("data").Str("kind").Should().Be("subscription");
        var otherArguments = await ErrorAsync(_host, "events/unsubscribe", Unsubscribe(new { event_types = new[] { "a", "b" } }, url));
        otherArguments.GetProperty("code").GetInt32().Should().Be(-32011, "the key holds the arguments as given");
    }

    [Theory]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"URL"}}""", -32602, "delivery.secret")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"URL","secret":"not-a-whsec"}}""", -32602, "whsec_")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"URL","secret":"whsec_AAAA"}}""", -32602, "24 to 64")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"URL","secret":"whsec_!!!!notbase64!!!!!!!!!!!!!!!!!!!!"}}""", -32602, "whsec_")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"not a url","secret":"SECRET"}}""", -32602, "https://")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"ftp://example.com/h","secret":"SECRET"}}""", -32602, "https://")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"https://u:p@example.com/h","secret":"SECRET"}}""", -32602, "user name")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":"URL"}""", -32602, "delivery must be an object")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"url":"URL","secret":"SECRET"},"ttlMs":"soon"}""", -32602, "ttlMs")]
    [InlineData("""{"name":"bus.event","arguments":{"colour":"red"},"delivery":{"url":"URL","secret":"SECRET"}}""", -32602, "colour")]
    [InlineData("""{"name":"nope","arguments":{},"delivery":{"url":"URL","secret":"SECRET"}}""", -32011, "nope")]
    [InlineData("""{"name":"bus.event","arguments":{},"delivery":{"mode":"push","url":"URL","secret":"SECRET"}}""", -32014, "deliveryMode")]
    public async Task BadSubscribes_GetTheDraftsErrors(string parameters, int code, string expected)
    {
        var json = parameters.Replace("URL", _receiver.Url("/bad"), StringComparison.Ordinal).Replace("SECRET", NewSecret(), StringComparison.Ordinal);
        var error = await ErrorAsync(_host, "events/subscribe", JsonDocument.Parse(json).RootElement);
        error.GetProperty("code").GetInt32().Should().Be(code, error.ToString());
        error.ToString().Should().Contain(expected);
        (await Store.ListWebhooksAsync(false, CancellationToken.None)).Should().BeEmpty("nothing is stored for a refused subscribe");
    }

    [Fact]
    public async Task WithoutPrivateNetworksAllowed_PlainHttpAndPrivateAddressesAreInvalidParams()
    {
        await using var strict = await BusHost.StartAsync(manualTime: true);
        var http = await ErrorAsync(strict, "events/subscribe", Params(new { }, "http://127.0.0.1:9/hook", NewSecret()));
        http.GetProperty("code").GetInt32().Should().Be(-32602);
        http.Str("message").Should().Contain("https://");
        var loopback = await ErrorAsync(strict, "events/subscribe", Params(new { }, "https://127.0.0.1:9/hook", NewSecret()));
        loopback.GetProperty("code").GetInt32().Should().Be(-32602);
        loopback.Str("message").Should().Contain("loopback");
    }

    [Fact]
    public async Task DirectMessages_ReachOnlyASubscriberWhoseTokenMayReadThem_AsWithGetEvents_AndARevokedTokenEndsItsSubscription()
    {
        var (_, alice) = await _host.ConnectWithTokenAsync("alice", TokenScope.Publish);
        var bob = await _host.CreateTokenAsync("bob", TokenScope.Read);
        var eve = await _host.CreateTokenAsync("eve", TokenScope.Read);
        var a = await RegisterAsync(_host, alice, "alice");
        var b = await RegisterAsync(_host, bob, "bob");
        var tip = (await ResultAsync(_host, "events/poll", new { name = "bus.event", cursor = (string?)null }, eve)).Str("cursor");

        var bobSecret = NewSecret();
        var eveSecret = NewSecret();
        var bobId = (await ResultAsync(_host, "events/subscribe", Params(new { }, _receiver.Url("/bob"), bobSecret), bob)).Str("id");
        var eveId = (await ResultAsync(_host, "events/subscribe", Params(new { }, _receiver.Url("/eve"), eveSecret), eve)).Str("id");
        eveId.Should().NotBe(bobId);
        var crossTenant = await ErrorAsync(_host, "events/unsubscribe", Unsubscribe(new { }, _receiver.Url("/eve")), bob);
        crossTenant.GetProperty("code").GetInt32().Should().Be(-32011, "the principal is part of the key: bob cannot touch eve's subscription");

        var dm = await PublishAsync(_host, "session:" + b, "note", "the password is swordfish", token: alice, session: a);
        var broadcast = await PublishAsync(_host, "all", "note", "standup at 10", token: alice, session: a);

        foreach (var (token, id, path, secret) in new[] { (bob, bobId, "/bob", bobSecret), (eve, eveId, "/eve", eveSecret) })
        {
            var visible = (await GetEventsAsync(_host, tip, token: token)).Select(e => e.GetProperty("id").GetInt64()).ToList();
            var deliveries = await SettledAsync(id, 2);
            var delivered = deliveries.Where(d => d.Status == DeliveryStatus.Delivered).Select(d => d.EventId).ToList();
            delivered.Should().Equal(visible, $"{path} gets exactly what get_events shows its token");
            Events(path).Select(r => r.Json.GetProperty("data").GetProperty("id").GetInt64()).Should().Equal(visible);
            foreach (var request in Events(path))
            {
                ShouldBeSigned(request, secret, id);
            }
        }

        Events("/bob").Should().HaveCount(2, "bob owns the DM's recipient");
        Events("/eve").Select(r => r.Json.GetProperty("data").GetProperty("id").GetInt64())
            .Should().Equal([broadcast], "eve may not read alice's DM to bob");
        dm.Should().BeLessThan(broadcast);

        await _host.Service<ITokenStore>().RevokeTokenAsync("eve", _host.Time!.GetUtcNow(), CancellationToken.None);
        var afterRevoke = await PublishAsync(_host, "all", "note", "eve may no longer read", token: alice, session: a);
        await Waiting.UntilAsync(Dispatcher.Changed, async () => await Store.GetWebhookAsync(eveId, CancellationToken.None) is null);
        (await Store.ListDeliveriesAsync(new DeliveryQuery(eveId, DeliveryStatus.Delivered, 100), CancellationToken.None))
            .Should().NotContain(d => d.EventId == afterRevoke, "a revoked token's subscription ends before sending");
        Events("/eve").Should().ContainSingle();
        var terminated = _receiver.Requests.Single(r => r.Path == "/eve" && IsControl(r, "terminated"));
        terminated.Json.GetProperty("error").GetProperty("code").GetInt32().Should().Be(-32012);
        terminated.Header("webhook-id").Should().StartWith("msg_terminated_");
        ShouldBeSignedControl(terminated, eveSecret, eveId);
    }

    [Fact]
    public async Task ThePerPrincipalCap_IsResourceExhausted_WhileRefreshesStillWork()
    {
        await using var capped = await BusHost.StartAsync(manualTime: true, AllowPrivate, "--EventBus:Webhooks:MaxSubscriptionsPerPrincipal=2");
        var secret = NewSecret();
        await ResultAsync(capped, "events/subscribe", Params(new { channel = "a" }, _receiver.Url("/cap"), secret));
        await ResultAsync(capped, "events/subscribe", Params(new { channel = "b" }, _receiver.Url("/cap"), secret));
        var third = await ErrorAsync(capped, "events/subscribe", Params(new { channel = "c" }, _receiver.Url("/cap"), secret));
        third.GetProperty("code").GetInt32().Should().Be(-32013);
        third.GetProperty("data").Str("limit").Should().Be("subscriptions");
        third.GetProperty("data").GetProperty("max").GetInt32().Should().Be(2);

        await ResultAsync(capped, "events/subscribe", Params(new { channel = "a" }, _receiver.Url("/cap"), NewSecret()));
        await ResultAsync(capped, "events/unsubscribe", Unsubscribe(new { channel = "b" }, _receiver.Url("/cap")));
        await ResultAsync(capped, "events/subscribe", Params(new { channel = "c" }, _receiver.Url("/cap"), secret));
    }

    [Fact]
    public async Task ANewSubscription_FirstVerifiesTheEndpoint_OncePerPrincipalAndUrl()
    {
        var url = _receiver.Url("/v");
        var secret = NewSecret();
        var id = (await ResultAsync(_host, "events/subscribe", Params(new { channel = "a" }, url, secret))).Str("id");
        var verification = _receiver.Requests.Single(r => r.Path == "/v");
        IsControl(verification, "verification").Should().BeTrue();
        verification.Json.Str("challenge").Should().NotBeNullOrEmpty();
        verification.Header("webhook-id").Should().StartWith("msg_verification_");
        ShouldBeSignedControl(verification, secret, id);

        await ResultAsync(_host, "events/subscribe", Params(new { channel = "b" }, url, NewSecret()));
        await ResultAsync(_host, "events/subscribe", Params(new { channel = "a" }, url, secret));
        _receiver.Requests.Where(r => r.Path == "/v").Should().ContainSingle("verification is cached per (principal, url), and a refresh never asks");
    }

    [Theory]
    [InlineData("/noecho", "challenge_failed")]
    [InlineData("/wrong", "challenge_failed")]
    [InlineData("/notjson", "challenge_failed")]
    [InlineData("/busy", "http_5xx")]
    [InlineData("/nothere", "http_4xx")]
    [InlineData("/redirect", "challenge_failed")]
    public async Task AnEndpointThatDoesNotConfirm_IsCallbackEndpointError_AndNothingIsStored(string path, string reason)
    {
        _receiver.Respond = (request, _) => request.Path switch
        {
            "/noecho" => new ReceiverAnswer(200),
            "/wrong" => new ReceiverAnswer(200, Body: """{"challenge":"not-the-one-we-sent"}"""),
            "/notjson" => new ReceiverAnswer(200, Body: "{challenge"),
            "/busy" => new ReceiverAnswer(503),
            "/nothere" => new ReceiverAnswer(404),
            _ => new ReceiverAnswer(302, new Dictionary<string, string> { ["Location"] = _receiver.Url("/elsewhere") }),
        };
        var error = await ErrorAsync(_host, "events/subscribe", Params(new { }, _receiver.Url(path), NewSecret()));
        error.GetProperty("code").GetInt32().Should().Be(-32015);
        error.GetProperty("data").Str("reason").Should().Be(reason);
        error.Str("message").Should().NotContain("receiver says no", "the endpoint's own answer is never shown (no response oracle)");
        (await Store.ListWebhooksAsync(false, CancellationToken.None)).Should().BeEmpty();
        _receiver.Requests.Should().NotContain(r => r.Path == "/elsewhere", "redirects are not followed");
    }

    [Fact]
    public async Task AnUnreachableEndpoint_IsCallbackEndpointError_ConnectionRefused()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var error = await ErrorAsync(_host, "events/subscribe", Params(new { }, $"http://127.0.0.1:{port}/hook", NewSecret()));
        error.GetProperty("code").GetInt32().Should().Be(-32015);
        error.GetProperty("data").Str("reason").Should().Be("connection_refused");
    }
}
