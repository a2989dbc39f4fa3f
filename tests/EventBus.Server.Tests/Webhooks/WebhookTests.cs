using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventBus.Core.Webhooks;
using EventBus.Server.Tests.Support;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests.Webhooks;

/// <summary>
/// Outgoing webhooks end to end: the real server (manual clock) delivering to a real HTTP receiver on loopback, which
/// needs private networks allowed. Time is moved, never waited for; waits are on the receiver or the delivery log.
/// </summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";
    private BusHost _host = null!;
    private McpClient _client = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _host = await BusHost.StartAsync(manualTime: true, AllowPrivate);
        _client = await _host.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private IWebhookStore Store => _host.Service<IWebhookStore>();

    private EventBus.Server.Webhooks.WebhookDispatcher Dispatcher => _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();

    private async Task<(string Id, string Secret)> RegisterAsync(string path = "/hook", string? channel = null, string[]? eventTypes = null, string? secret = null)
    {
        var reply = await _client.CallAsync("register_webhook", new Dictionary<string, object?>
        {
            ["url"] = _receiver.Url(path),
            ["channel"] = channel,
            ["event_types"] = eventTypes,
            ["secret"] = secret,
        });
        return (reply.Str("webhook_id"), secret ?? reply.Str("secret"));
    }

    private Task<JsonElement> PublishAsync(string type, string payload = "p", string channel = "all") =>
        _client.CallAsync("publish_event", new { event_type = type, payload, channel });

    /// <summary>Waits until the webhook's newest delivery satisfies <paramref name="condition"/>.</summary>
    private async Task<Delivery> WaitForDeliveryAsync(string webhookId, Func<Delivery, bool> condition)
    {
        // A delivery is queued with its event's commit and changes with each attempt the dispatcher records.
        var commits = _host.Service<EventBus.Core.Events.CommitSignal>();
        Delivery? found = null;
        await Waiting.UntilAsync(async () =>
        {
            found = (await Store.ListDeliveriesAsync(new DeliveryQuery(webhookId, null, 1), CancellationToken.None)).FirstOrDefault();
            return found is not null && condition(found);
        }, token => Task.WhenAny(Dispatcher.Changed.NextAsync(), commits.WaitForAsync(commits.Tip, TestTimeouts.Default, TimeProvider.System, token)));
        return found!;
    }

    /// <summary>
    /// Moves the clock to the webhook's next attempt, once its lane sleeps for it (moving earlier would race the lane's
    /// own reading of the clock).
    /// </summary>
    private async Task<Delivery> AdvanceToNextAttemptAsync(string webhookId)
    {
        var head = await WaitForDeliveryAsync(webhookId, d => d.Status == DeliveryStatus.Pending);
        var dispatcher = _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();
        await Waiting.UntilAsync(dispatcher.Changed, () => dispatcher.SleepingUntil(webhookId) == head.NextAttemptAt);
        _host.Time!.Advance(head.NextAttemptAt - _host.Time.GetUtcNow() + TimeSpan.FromMilliseconds(1));
        return head;
    }

    /// <summary>An independent Standard Webhooks verifier (not the server's code): HMAC-SHA256 over "id.timestamp.body".</summary>
    private static bool VerifiesStandard(ReceivedRequest r, string secret)
    {
        var key = Convert.FromBase64String(secret.Split('_', 2)[1]);
        var signed = Encoding.UTF8.GetBytes($"{r.Header("webhook-id")}.{r.Header("webhook-timestamp")}.").Concat(r.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(new HMACSHA256(key).ComputeHash(signed));
        return r.Header("webhook-signature").Split(' ').Contains(expected);
    }

    /// <summary>An independent check of the old header: hex HMAC-SHA256 of the body keyed with the secret string.</summary>
    private static bool VerifiesLegacy(ReceivedRequest r, string secret) =>
        r.Header("x-event-bus-signature") == "sha256=" + Convert.ToHexString(new HMACSHA256(Encoding.UTF8.GetBytes(secret)).ComputeHash(r.Body)).ToLowerInvariant();

    [Fact]
    public async Task RegisterWebhook_ReturnsTheContractKeys_AndAGeneratedSecretOnce_ListNeverShowsIt()
    {
        var reply = await _client.CallAsync("register_webhook", new { url = _receiver.Url(), channel = "repo:", event_types = new[] { "ci_failed" } });
        reply.EnumerateObject().Select(p => p.Name).Should().Contain(["webhook_id", "url", "channel", "event_types", "created_at", "secret"]);
        reply.Str("secret").Should().StartWith("whsec_");
        Convert.FromBase64String(reply.Str("secret")["whsec_".Length..]).Should().HaveCount(32);
        reply.Str("created_at").Should().Be("2026-11-22T02:14:00.000Z");

        var own = await _client.CallAsync("register_webhook", new { url = _receiver.Url("/own"), secret = "my-old-secret" });
        own.TryGetProperty("secret", out _).Should().BeFalse("a secret the caller gave is not echoed");
        own.Str("channel").Should().Be("");
        own.GetProperty("event_types").ValueKind.Should().Be(JsonValueKind.Null);

        var list = await _client.CallAsync("list_webhooks");
        list.GetArrayLength().Should().Be(2);
        foreach (var row in list.EnumerateArray())
        {
            row.EnumerateObject().Select(p => p.Name).Should().Contain(["webhook_id", "url", "channel", "event_types", "active", "created_at", "has_secret"]);
            row.GetProperty("has_secret").GetBoolean().Should().BeTrue();
            row.GetRawText().Should().NotContain("whsec_").And.NotContain("my-old-secret");
        }
    }

    [Fact]
    public async Task Delivery_IsSignedBothWays_AndVerifiesWithIndependentImplementations()
    {
        var (id, secret) = await RegisterAsync();
        var published = await _client.CallAsync("publish_event", new
        {
            event_type = "task_completed",
            payload = "tests pass",
            channel = "repo:eventbus",
            title = "Green",
            tags = new[] { "ci" },
            correlation_id = "run-7",
        });

        var request = (await _receiver.WaitForAsync(1)).Single();
        VerifiesStandard(request, secret).Should().BeTrue(request.Header("webhook-signature"));
        VerifiesLegacy(request, secret).Should().BeTrue(request.Header("x-event-bus-signature"));
        request.Header("webhook-id").Should().MatchRegex("^msg_[0-9]+$");
        request.Header("webhook-timestamp").Should().Be(new DateTimeOffset(2026, 11, 22, 2, 14, 0, TimeSpan.Zero).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Header("content-type").Should().StartWith("application/json");

        var body = request.Json;
        body.EnumerateObject().Select(p => p.Name).Should().Equal(
            "event_id", "event_type", "payload", "session_id", "timestamp", "channel", "correlation_id", "signal_level", "title", "tags");
        body.GetProperty("event_id").GetInt64().Should().Be(published.GetProperty("event_id").GetInt64());
        body.Str("payload").Should().Be("tests pass");
        body.Str("timestamp").Should().Be("2026-11-22T02:14:00.000Z");

        var delivered = await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Delivered);
        delivered.Attempts.Should().Be(1);
        delivered.LastStatusCode.Should().Be(200);
    }

    [Fact]
    public async Task Filters_MatchChannelPrefixAndEventTypes()
    {
        await RegisterAsync("/ci", channel: "repo:", eventTypes: ["ci_failed"]);
        await RegisterAsync("/dm", channel: "session:");
        await RegisterAsync("/all");

        await PublishAsync("ci_failed", channel: "repo:eventbus");
        await PublishAsync("note", channel: "repo:eventbus");
        await PublishAsync("ci_failed", channel: "machine:m1");
        await PublishAsync("hello", channel: "session:abc");

        var all = await _receiver.WaitForAsync(4, "/all");
        var ci = await _receiver.WaitForAsync(1, "/ci");
        var dm = await _receiver.WaitForAsync(1, "/dm");
        all.Select(r => r.Json.Str("event_type")).Should().Equal("ci_failed", "note", "ci_failed", "hello");
        ci.Single().Json.Str("channel").Should().Be("repo:eventbus");
        dm.Single().Json.Str("channel").Should().Be("session:abc");

        // Everything was committed before the last delivery to /all: no more requests can be on their way to the others.
        await WaitForDeliveryAsync((await Store.ListWebhooksAsync(true, CancellationToken.None))[2].WebhookId, d => d.Status == DeliveryStatus.Delivered);
        _receiver.Requests.Count(r => r.Path == "/ci").Should().Be(1);
        _receiver.Requests.Count(r => r.Path == "/dm").Should().Be(1);
    }

    [Fact]
    public async Task ReceiverDownForTwoAttempts_ThenUp_GetsTheEventExactlyOnce_WithTheSameWebhookId()
    {
        _receiver.Respond = (_, before) => new ReceiverAnswer(before < 2 ? 500 : 200);
        var (id, secret) = await RegisterAsync();
        await PublishAsync("deploy_started");

        var first = await WaitForDeliveryAsync(id, d => d.Attempts == 1);
        (first.NextAttemptAt - first.LastAttemptAt!.Value).Should().BeCloseTo(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(0.51));
        await AdvanceToNextAttemptAsync(id);
        var second = await WaitForDeliveryAsync(id, d => d.Attempts == 2);
        (second.NextAttemptAt - second.LastAttemptAt!.Value).Should().BeCloseTo(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30.1));
        await AdvanceToNextAttemptAsync(id);
        var delivered = await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Delivered);

        var requests = _receiver.Requests;
        requests.Should().HaveCount(3);
        requests.Select(r => r.Header("webhook-id")).Distinct().Should().ContainSingle().Which.Should().Be(delivered.MessageId);
        requests.Count(r => r.AnsweredStatus == 200).Should().Be(1, "the receiver accepted the event exactly once");
        requests.Should().OnlyContain(r => VerifiesStandard(r, secret));
        requests.Select(r => Encoding.UTF8.GetString(r.Body)).Distinct().Should().ContainSingle("every attempt carries the same body");

        var log = await _client.CallAsync("list_deliveries", new { webhook_id = id });
        var entry = log.GetProperty("deliveries")[0];
        entry.Str("status").Should().Be("delivered");
        entry.GetProperty("attempt_log").EnumerateArray().Select(a => a.GetProperty("status_code").GetInt32()).Should().Equal(500, 500, 200);
        entry.GetProperty("attempt_log")[0].Str("error").Should().Contain("HTTP 500").And.Contain("receiver says no");

        _host.Time!.Advance(TimeSpan.FromHours(30));
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 10), CancellationToken.None)).Single().Attempts.Should().Be(3);
    }

    [Fact]
    public async Task Gone410_DisablesTheWebhookAtOnce_AndAnnouncesItOnSystemWebhooks()
    {
        _receiver.Respond = (_, _) => new ReceiverAnswer(410);
        var (id, _) = await RegisterAsync();
        await PublishAsync("note");

        await Waiting.UntilAsync(Dispatcher.Changed, async () => (await Store.GetWebhookAsync(id, CancellationToken.None))!.Active == false);
        var webhook = (await _client.CallAsync("list_webhooks", new { active_only = false }))[0];
        webhook.GetProperty("active").GetBoolean().Should().BeFalse();
        webhook.Str("disabled_reason").Should().Contain("410");
        (await _client.CallAsync("list_webhooks")).GetArrayLength().Should().Be(0, "active_only defaults to true");

        var announced = (await _client.CallAsync("get_events", new { channel = "system:webhooks" })).GetProperty("events").EnumerateArray().Single();
        announced.Str("event_type").Should().Be("webhook_disabled");
        announced.Str("signal_level").Should().Be("actionable");
        JsonDocument.Parse(announced.Str("payload")).RootElement.Str("webhook_id").Should().Be(id);
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 10), CancellationToken.None)).Single().Status.Should().Be(DeliveryStatus.Failed);

        // Disabled: new events are not queued for it.
        await PublishAsync("after");
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 10), CancellationToken.None)).Should().HaveCount(1);
    }

    [Fact]
    public async Task RetryAfter_OnA503_DelaysTheNextAttemptBeyondTheSchedule()
    {
        _receiver.Respond = (_, before) => before == 0
            ? new ReceiverAnswer(503, new Dictionary<string, string> { ["Retry-After"] = "120" })
            : new ReceiverAnswer(200);
        var (id, _) = await RegisterAsync();
        await PublishAsync("note");

        var waiting = await WaitForDeliveryAsync(id, d => d.Attempts == 1);
        waiting.NextAttemptAt.Should().Be(new DateTimeOffset(2026, 11, 22, 2, 16, 0, TimeSpan.Zero), "Retry-After: 120 beats the 5 s retry");
        var dispatcher = _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();
        await Waiting.UntilAsync(dispatcher.Changed, () => dispatcher.SleepingUntil(id) == waiting.NextAttemptAt);
        _host.Time!.Advance(TimeSpan.FromSeconds(10));
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 1), CancellationToken.None)).Single().Attempts.Should().Be(1);
        dispatcher.SleepingUntil(id).Should().Be(waiting.NextAttemptAt, "the lane still sleeps for the Retry-After time");
        _host.Time.Advance(TimeSpan.FromSeconds(111));
        await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Delivered);
        _receiver.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Fix6_WebhooksAreDurable_ARestartInTheMiddleOfTheRetrySchedule_StillDelivers_AndSessionEventsReachWebhooks()
    {
        _receiver.Respond = (_, before) => new ReceiverAnswer(before == 0 ? 502 : 200);
        var (id, secret) = await RegisterAsync();
        await PublishAsync("survives_restart");
        var first = await WaitForDeliveryAsync(id, d => d.Attempts == 1);
        first.Status.Should().Be(DeliveryStatus.Pending);

        var directory = _host.Directory;
        _host.KeepDirectory = true;
        await _host.DisposeAsync();
        _host = await BusHost.StartInAsync(directory, manualTime: true, AllowPrivate);
        _client = await _host.ConnectAsync();

        await AdvanceToNextAttemptAsync(id);
        var delivered = await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Delivered);
        delivered.Attempts.Should().Be(2);
        var requests = _receiver.Requests;
        requests.Should().HaveCount(2);
        requests.Select(r => r.Header("webhook-id")).Distinct().Should().ContainSingle();
        VerifiesStandard(requests[1], secret).Should().BeTrue("the secret is decrypted with the keys kept beside the database");

        await _client.CallAsync("register_session", new { name = "late", machine = "m1" });
        (await _receiver.WaitForAsync(3))[2].Json.Str("event_type").Should().Be("session_registered", "session lifecycle events reach webhooks too");
    }

    [Fact]
    public async Task AnEndpointFailingLongerThanDisableAfter_IsDisabled_AndAnnounced()
    {
        await _host.DisposeAsync();
        _host = await BusHost.StartAsync(manualTime: true, AllowPrivate, "--EventBus:Webhooks:DisableAfter=00:10:00");
        _client = await _host.ConnectAsync();
        _receiver.Respond = (_, _) => new ReceiverAnswer(500);
        var (id, _) = await RegisterAsync();
        await PublishAsync("note");

        await WaitForDeliveryAsync(id, d => d.Attempts == 1);
        await AdvanceToNextAttemptAsync(id);
        await WaitForDeliveryAsync(id, d => d.Attempts == 2);
        (await Store.GetWebhookAsync(id, CancellationToken.None))!.Active.Should().BeTrue("failing for seconds is not failing for ten minutes");
        await AdvanceToNextAttemptAsync(id);
        await WaitForDeliveryAsync(id, d => d.Attempts == 3);
        await AdvanceToNextAttemptAsync(id);
        await WaitForDeliveryAsync(id, d => d.Attempts == 4);

        await Waiting.UntilAsync(Dispatcher.Changed, async () => (await Store.GetWebhookAsync(id, CancellationToken.None))!.Active == false);
        var announced = (await _client.CallAsync("get_events", new { channel = "system:webhooks" })).GetProperty("events").EnumerateArray().Single();
        announced.Str("event_type").Should().Be("webhook_disabled");
        announced.Str("payload").Should().Contain("every attempt failed");
    }

    [Fact]
    public async Task AfterEveryAttemptOfTheSchedule_ADeadLetter_ThatRedeliverSendsAgain()
    {
        _receiver.Respond = (_, _) => new ReceiverAnswer(500);
        var (id, _) = await RegisterAsync();
        await PublishAsync("note");

        for (var attempt = 1; attempt <= RetrySchedule.MaxAttempts; attempt++)
        {
            var current = await WaitForDeliveryAsync(id, d => d.Attempts == attempt);
            if (attempt < RetrySchedule.MaxAttempts)
            {
                var delay = RetrySchedule.Delays[attempt - 1];
                (current.NextAttemptAt - current.LastAttemptAt!.Value).Should().BeCloseTo(delay, delay * 0.101);
                await AdvanceToNextAttemptAsync(id);
            }
        }

        var dead = await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Failed);
        dead.Attempts.Should().Be(8);
        var failed = await _client.CallAsync("list_deliveries", new { status = "failed" });
        failed.GetProperty("count").GetInt32().Should().Be(1);
        failed.GetProperty("deliveries")[0].GetProperty("attempt_log").GetArrayLength().Should().Be(8);
        failed.GetProperty("deliveries")[0].GetProperty("next_attempt_at").ValueKind.Should().Be(JsonValueKind.Null);

        _receiver.Respond = (_, _) => new ReceiverAnswer(200);
        var again = await _client.CallAsync("redeliver", new { delivery_id = dead.MessageId });
        again.GetProperty("success").GetBoolean().Should().BeTrue();
        again.Str("status").Should().Be("pending");
        var delivered = await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Delivered);
        delivered.Attempts.Should().Be(9);
        _receiver.Requests.Select(r => r.Header("webhook-id")).Distinct().Should().ContainSingle("a redelivery keeps its webhook-id");

        var missing = await _client.CallAsync("redeliver", new { delivery_id = "msg_999999" });
        missing.GetProperty("success").GetBoolean().Should().BeFalse();
        missing.Str("error").Should().Be("Delivery not found");
        (await _client.CallFailingAsync("list_deliveries", new { status = "lost" })).Should().Contain("status must be one of");
    }

    [Fact]
    public async Task AReceiverRejectingOneEvent_GetsEveryLaterOne_AtOnce_AndTheRejectedOneIsADeadLetterThatRedeliverReplays()
    {
        var rejecting = true;
        _receiver.Respond = (r, _) => new ReceiverAnswer(rejecting && r.Json.Str("event_type") == "poison" ? 400 : 200);
        var (id, _) = await RegisterAsync();
        await PublishAsync("poison");
        for (var i = 0; i < 20; i++)
        {
            await PublishAsync("fine", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // The clock never moves: nothing later waits for the rejected delivery's retry schedule.
        var requests = await _receiver.WaitForAsync(21);
        requests.Select(r => r.Json.Str("event_type")).Should().Equal(["poison", .. Enumerable.Repeat("fine", 20)], "the order is kept");
        await Waiting.UntilAsync(Dispatcher.Changed, async () =>
            (await Store.ListDeliveriesAsync(new DeliveryQuery(id, DeliveryStatus.Delivered, 50), CancellationToken.None)).Count == 20);

        var dead = await _client.CallAsync("list_deliveries", new { webhook_id = id, status = "failed" });
        dead.GetProperty("count").GetInt32().Should().Be(1);
        var entry = dead.GetProperty("deliveries")[0];
        entry.Str("event_type").Should().Be("poison");
        entry.GetProperty("attempts").GetInt32().Should().Be(1, "a permanent rejection is not retried on the schedule");
        entry.GetProperty("last_status_code").GetInt32().Should().Be(400);
        entry.GetProperty("next_attempt_at").ValueKind.Should().Be(JsonValueKind.Null);
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, DeliveryStatus.Pending, 50), CancellationToken.None)).Should().BeEmpty();
        (await Store.GetWebhookAsync(id, CancellationToken.None))!.Active.Should().BeTrue();

        rejecting = false;
        (await _client.CallAsync("redeliver", new { delivery_id = entry.Str("delivery_id") })).GetProperty("success").GetBoolean().Should().BeTrue();
        var replayed = (await _receiver.WaitForAsync(22))[21];
        replayed.Header("webhook-id").Should().Be(entry.Str("delivery_id"));
        replayed.AnsweredStatus.Should().Be(200);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(409)]
    [InlineData(425)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task ATransientAnswer_IsRetriedOnTheSchedule_AndLaterDeliveriesWaitBehindIt(int status)
    {
        _receiver.Respond = (_, before) => new ReceiverAnswer(before == 0 ? status : 200);
        var (id, _) = await RegisterAsync();
        await PublishAsync("first");
        var waiting = await WaitForDeliveryAsync(id, d => d.Attempts == 1);
        waiting.Status.Should().Be(DeliveryStatus.Pending);
        await PublishAsync("second");
        var dispatcher = _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();
        await Waiting.UntilAsync(dispatcher.Changed, () => dispatcher.SleepingUntil(id) == waiting.NextAttemptAt);
        _receiver.Requests.Should().ContainSingle("the second event waits behind the first's retry");
        _host.Time!.Advance(waiting.NextAttemptAt - _host.Time.GetUtcNow() + TimeSpan.FromMilliseconds(1));
        var requests = await _receiver.WaitForAsync(3);
        requests.Select(r => r.Json.Str("event_type")).Should().Equal("first", "first", "second");
    }

    [Fact]
    public async Task ListWebhooks_ShowsAStuckLane_ItsPendingCountAndTheOldestPendingDeliverysAge()
    {
        _receiver.Respond = (_, _) => new ReceiverAnswer(503);
        var (stuck, _) = await RegisterAsync("/stuck");
        await PublishAsync("first");
        var waiting = await WaitForDeliveryAsync(stuck, d => d.Attempts == 1);
        await PublishAsync("second");
        var dispatcher = _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();
        await Waiting.UntilAsync(dispatcher.Changed, () => dispatcher.SleepingUntil(stuck) == waiting.NextAttemptAt);
        _host.Time!.Advance(TimeSpan.FromSeconds(3));
        _receiver.Respond = (_, _) => new ReceiverAnswer(200);
        var (idle, _) = await RegisterAsync("/idle");

        var list = (await _client.CallAsync("list_webhooks")).EnumerateArray().ToDictionary(w => w.Str("webhook_id"));
        var row = list[stuck];
        row.GetProperty("pending_deliveries").GetInt32().Should().Be(2);
        row.Str("oldest_pending_at").Should().Be("2026-11-22T02:14:00.000Z");
        row.GetProperty("oldest_pending_age_seconds").GetDouble().Should().Be(3);
        list[idle].TryGetProperty("oldest_pending_at", out _).Should().BeFalse("nothing is pending for it");
        list[idle].TryGetProperty("oldest_pending_age_seconds", out _).Should().BeFalse();
        list[idle].GetProperty("pending_deliveries").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task DeliveriesToOneEndpoint_GoOutInEventOrder()
    {
        var (id, _) = await RegisterAsync();
        var batch = Enumerable.Range(1, 40).Select(i => new { event_type = "tick", payload = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray();
        using (var response = await _host.Http.PostAsJsonAsync("/api/v1/events:batch", batch))
        {
            response.EnsureSuccessStatusCode();
        }

        for (var i = 0; i < 10; i++)
        {
            await PublishAsync("tock", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var requests = await _receiver.WaitForAsync(50);
        var ids = requests.Select(r => r.Json.GetProperty("event_id").GetInt64()).ToList();
        ids.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Delivered);
    }

    [Fact]
    public async Task SetActiveAndUnregister_FollowTheContract_AndStopQueueing()
    {
        var (id, _) = await RegisterAsync();
        (await _client.CallAsync("set_webhook_active", new { webhook_id = id, active = false }))
            .GetRawText().Should().Be($$"""{"success":true,"webhook_id":"{{id}}","active":false}""");
        await PublishAsync("while_paused");
        (await Store.ListDeliveriesAsync(new DeliveryQuery(id, null, 10), CancellationToken.None)).Should().BeEmpty();
        (await _client.CallAsync("set_webhook_active", new { webhook_id = id, active = true })).GetProperty("active").GetBoolean().Should().BeTrue();
        await PublishAsync("after_resume");
        (await _receiver.WaitForAsync(1)).Single().Json.Str("event_type").Should().Be("after_resume");

        (await _client.CallAsync("unregister_webhook", new { webhook_id = id }))
            .GetRawText().Should().Be($$"""{"success":true,"webhook_id":"{{id}}"}""");
        (await _client.CallAsync("unregister_webhook", new { webhook_id = id }))
            .GetRawText().Should().Be($$"""{"success":false,"error":"Webhook not found","webhook_id":"{{id}}"}""");
        (await _client.CallAsync("set_webhook_active", new { webhook_id = "nope", active = true }))
            .GetRawText().Should().Be("""{"success":false,"error":"Webhook not found","webhook_id":"nope"}""");
        (await _client.CallFailingAsync("set_webhook_active", new { webhook_id = id })).Should().Contain("active");
        (await _client.CallAsync("list_webhooks", new { active_only = false })).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Unregistering_CancelsDeliveriesStillQueued()
    {
        _receiver.Respond = (_, _) => new ReceiverAnswer(500);
        var (id, _) = await RegisterAsync();
        await PublishAsync("note");
        await WaitForDeliveryAsync(id, d => d.Attempts == 1);
        await _client.CallAsync("unregister_webhook", new { webhook_id = id });
        (await WaitForDeliveryAsync(id, d => d.Status == DeliveryStatus.Cancelled)).Attempts.Should().Be(1);
        _host.Time!.Advance(TimeSpan.FromHours(1));
        _receiver.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task BadRegistrations_AreToolErrorsThatSayWhy()
    {
        (await _client.CallFailingAsync("register_webhook", new { url = "ftp://example.com/x" })).Should().Contain("http:// or https://");
        (await _client.CallFailingAsync("register_webhook", new { url = "not a url" })).Should().Contain("absolute");
        (await _client.CallFailingAsync("register_webhook", new { url = "https://user:pw@example.com/x" })).Should().Contain("password");
        (await _client.CallFailingAsync("register_webhook", new { url = _receiver.Url(), event_types = new[] { "" } })).Should().Contain("event type");
        (await _client.CallFailingAsync("register_webhook", new { channel = "all" })).Should().Contain("url");
    }

    [Fact]
    [Trait("Store", "SqliteOnly")] // reads the database file
    public async Task TheDatabaseFileAlone_DoesNotContainTheSecret()
    {
        var keyBytes = RandomNumberGenerator.GetBytes(32);
        var secret = "whsec_" + Convert.ToBase64String(keyBytes);
        await RegisterAsync(secret: secret);
        await RegisterAsync("/legacy", secret: "correct-horse-battery-staple");
        await PublishAsync("note");
        await _receiver.WaitForAsync(2);

        var files = new[] { _host.DatabasePath, _host.DatabasePath + "-wal" }.Where(File.Exists).Select(File.ReadAllBytes).ToList();
        files.Should().NotBeEmpty();
        foreach (var bytes in files)
        {
            bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)).Should().Be(-1);
            bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret["whsec_".Length..])).Should().Be(-1);
            bytes.AsSpan().IndexOf(keyBytes).Should().Be(-1);
            bytes.AsSpan().IndexOf("correct-horse-battery-staple"u8).Should().Be(-1);
        }

        Directory.EnumerateFiles(Path.Combine(_host.Directory, "keys"), "key-*.xml").Should().NotBeEmpty("the key is kept beside the database, not in it");
    }
}
