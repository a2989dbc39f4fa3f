using System.Net.ServerSentEvents;
using System.Text.Json;
using EventBus.Core.Retention;
using EventBus.Server.Hosting;
using EventBus.Server.Retention;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelContextProtocol.Client;

namespace EventBus.Server.Tests.Retention;

/// <summary>
/// Retention through the real host: rules by channel, the keep rules (unread DMs, pending webhook deliveries, the newest
/// event), truncated reads on every read path, the accounting in /health, and the low-water mark across a restart.
/// Time is the manual clock; each pass is run directly (the service's own timer may run one too: passes are serialised).
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private const string AllowPrivate = "--EventBus:Webhooks:AllowPrivateNetworks=true";

    // Sessions must outlive the two days the clock is moved, or their unread DMs would stop being kept.
    private static readonly string[] Rules =
    [
        AllowPrivate, "--EventBus:SessionTtl=30.00:00:00",
        "--EventBus:Retention:Rules:0:Channel=mqtt:#", "--EventBus:Retention:Rules:0:MaxAge=1.00:00:00",
        "--EventBus:Retention:Rules:1:Channel=hooks:#", "--EventBus:Retention:Rules:1:MaxAge=1.00:00:00",
        "--EventBus:Retention:Rules:2:Channel=session:*", "--EventBus:Retention:Rules:2:MaxAge=1.00:00:00",
    ];

    private WebhookReceiver _receiver = null!;
    private BusHost _host = null!;
    private McpClient _client = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _host = await BusHost.StartAsync(manualTime: true, Rules);
        _client = await _host.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private Task<JsonElement> PublishAsync(string channel, string type = "reading") =>
        _client.CallAsync("publish_event", new { event_type = type, payload = $"{type} on {channel}", channel });

    private Task RunPassAsync() => _host.Service<RetentionService>().RunOnceAsync(TestTimeouts.Token());

    [Fact]
    public async Task OldEventsOfARule_AreDeleted_DmsUnreadAndPendingDeliveriesAreKept_AndReadsFromBeforeAreFlaggedTruncated()
    {
        var reader = (await _client.CallAsync("register_session", new { name = "reader", machine = "m1", client_id = "r" })).Str("session_id");
        var otherReader = (await _client.CallAsync("register_session", new { name = "done", machine = "m1", client_id = "d" })).Str("session_id");
        _receiver.Respond = (r, _) => new ReceiverAnswer(r.Path == "/reject" ? 400 : 503);
        await _client.CallAsync("register_webhook", new { url = _receiver.Url(), channel = "hooks:slow" });
        await _client.CallAsync("register_webhook", new { url = _receiver.Url("/reject"), channel = "hooks:refused" });

        var old = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            old.Add((await PublishAsync("mqtt:sensors:a")).GetProperty("event_id").GetInt64());
        }

        var pending = (await PublishAsync("hooks:slow", "build")).GetProperty("event_id").GetInt64();
        var deadLetter = (await PublishAsync("hooks:refused", "build")).GetProperty("event_id").GetInt64();
        var unreadDm = (await PublishAsync($"session:{reader}", "question")).GetProperty("event_id").GetInt64();
        var readDm = (await PublishAsync($"session:{otherReader}", "answer")).GetProperty("event_id").GetInt64();
        await _client.CallAsync("get_events", new { session_id = otherReader, resume = true }); // reads its DM
        var broadcast = (await PublishAsync("all", "note")).GetProperty("event_id").GetInt64();
        await _receiver.WaitForAsync(1, "/hook"); // tried, answered 503: pending
        await _receiver.WaitForAsync(1, "/reject"); // answered 400: a dead letter at once, once the attempt is recorded
        var dispatcher = _host.Service<EventBus.Server.Webhooks.WebhookDispatcher>();
        await Waiting.UntilAsync(dispatcher.Changed, async () =>
            (await _client.CallAsync("list_deliveries", new { status = "failed" })).GetProperty("deliveries").GetArrayLength() > 0);

        _host.Time!.Advance(TimeSpan.FromDays(2));
        var fresh = (await PublishAsync("mqtt:sensors:a")).GetProperty("event_id").GetInt64();
        await RunPassAsync();

        var all = await _client.CallAsync("get_events", new { cursor = "0", order = "asc", limit = 500 });
        var ids = all.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToList();
        ids.Should().NotContain(old, "mqtt:# keeps one day").And.NotContain(readDm, "a DM its recipient read follows its rule");
        ids.Should().Contain([pending, deadLetter, unreadDm, broadcast, fresh],
            "a pending delivery, a dead letter, an unread DM, the default rule's 90 days, a new event");
        var failed = (await _client.CallAsync("list_deliveries", new { status = "failed" })).GetProperty("deliveries")[0];
        failed.GetProperty("event_id").GetInt64().Should().Be(deadLetter);
        (await _client.CallAsync("redeliver", new { delivery_id = failed.Str("delivery_id") }))
            .GetProperty("success").GetBoolean().Should().BeTrue("a dead letter stays replayable");
        all.GetProperty("truncated").GetBoolean().Should().BeTrue();
        var first = long.Parse(all.Str("first_available_cursor"), System.Globalization.CultureInfo.InvariantCulture);
        first.Should().Be(readDm, "the highest id deleted is the low-water mark");

        // From the first available cursor on, nothing is missing: no flag.
        var whole = await _client.CallAsync("get_events", new { cursor = all.Str("first_available_cursor"), order = "asc" });
        whole.TryGetProperty("truncated", out _).Should().BeFalse();

        // A consuming read from a saved cursor before the mark is flagged too (REST, the same domain call).
        var rest = await _host.GetJsonAsync($"/api/v1/events?cursor={old[0]}&order=asc");
        rest.GetProperty("truncated").GetBoolean().Should().BeTrue();
        rest.Str("first_available_cursor").Should().Be(all.Str("first_available_cursor"));

        var health = await _host.GetJsonAsync("/health");
        var retention = health.GetProperty("retention");
        retention.GetProperty("deleted_through").GetInt64().Should().Be(readDm);
        retention.GetProperty("deleted_total").GetInt64().Should().Be(6);
        retention.GetProperty("oldest_event_id").GetInt64().Should().Be(ids.Min());
        var rules = retention.GetProperty("rules").EnumerateArray().ToDictionary(r => r.Str("channel"));
        rules.Keys.Should().Equal("mqtt:#", "hooks:#", "session:*", "default");
        rules["mqtt:#"].GetProperty("events").GetInt64().Should().Be(1);
        rules["mqtt:#"].Str("max_age").Should().Be("1.00:00:00");
        rules["hooks:#"].GetProperty("events").GetInt64().Should().Be(2);
        rules["default"].Str("max_age").Should().Be("90.00:00:00");
        rules["default"].GetProperty("bytes").GetInt64().Should().BePositive();
        (await _host.GetJsonAsync("/api/v1/health")).GetProperty("retention").GetProperty("deleted_through").GetInt64().Should().Be(readDm);
    }

    [Fact]
    public async Task AStreamOrWebSocketFromBeforeTheMark_IsToldOnce_ThenGetsWhatIsLeft()
    {
        for (var i = 0; i < 3; i++)
        {
            await PublishAsync("mqtt:x");
        }

        var kept = (await PublishAsync("all", "note")).GetProperty("event_id").GetInt64();
        _host.Time!.Advance(TimeSpan.FromDays(2));
        await RunPassAsync();

        using var response = await _host.Http.GetAsync("/api/v1/stream?cursor=0", HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
        await using var body = await response.Content.ReadAsStreamAsync(TestTimeouts.Token());
        await using var items = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator(TestTimeouts.Token());
        (await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Default)).Should().BeTrue();
        items.Current.EventType.Should().Be("truncated");
        JsonDocument.Parse(items.Current.Data).RootElement.Str("first_available_cursor").Should().Be((kept - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var seen = new List<long>();
        while (seen.Count == 0 || seen[^1] < kept)
        {
            (await items.MoveNextAsync().AsTask().WaitAsync(TestTimeouts.Default)).Should().BeTrue();
            seen.Add(long.Parse(items.Current.EventId!, System.Globalization.CultureInfo.InvariantCulture));
        }

        seen.Should().Equal([kept], "the deleted events are not sent, and nothing older than the kept one is left");

        using var ws = await WebSockets.WsClient.ConnectAsync(_host);
        var subscribed = await ws.SubscribeAsync(cursor: "0");
        subscribed.GetProperty("truncated").GetBoolean().Should().BeTrue();
        subscribed.Str("first_available_cursor").Should().Be((kept - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ABusThatNeverDeleted_DoesNotFlagACursorAtZero()
    {
        await PublishAsync("all", "note");
        await RunPassAsync();
        var read = await _client.CallAsync("get_events", new { cursor = "0", order = "asc" });
        read.TryGetProperty("truncated", out _).Should().BeFalse();
        (await _host.GetJsonAsync("/health")).GetProperty("retention").GetProperty("deleted_through").GetInt64().Should().Be(0);
    }
}

/// <summary>Caps, the mark across a restart, and bad settings.</summary>
public sealed class RetentionCapTests
{
    [Fact]
    public async Task AnEventCap_DeletesTheOldestFirst_InSmallBatches_AndTheMarkSurvivesARestart()
    {
        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        long[] ids;
        await using (var host = await BusHost.StartInAsync(
            directory, false, "--EventBus:Retention:MaxEvents=10", "--EventBus:Retention:BatchSize=3"))
        {
            host.KeepDirectory = true;
            ids = new long[25];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = await host.PublishAsync("note");
            }

            await host.Service<RetentionService>().RunOnceAsync(TestTimeouts.Token());
            var left = await host.GetJsonAsync("/api/v1/events?cursor=0&order=asc&limit=100");
            left.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().Equal(ids[^10..]);
            left.Str("first_available_cursor").Should().Be(ids[^11].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await using var restarted = await BusHost.StartInAsync(directory, false, "--EventBus:Retention:Enabled=false");
        var read = await restarted.GetJsonAsync("/api/v1/events?cursor=0&order=asc&limit=100");
        read.GetProperty("truncated").GetBoolean().Should().BeTrue("the low-water mark is kept in the database");
        var next = await restarted.PublishAsync("after-restart");
        next.Should().BeGreaterThan(ids[^1], "ids are never reused");
    }

    [Theory]
    [InlineData("--EventBus:Retention:Rules:0:Channel=mqtt:#", "EventBus:Retention:Rules:0:MaxAge must be set")]
    [InlineData("--EventBus:Retention:Rules:0:Channel=a:#:b", "EventBus:Retention:Rules:0:Channel: channel pattern")]
    [InlineData("--EventBus:Retention:DefaultMaxAge=-1.00:00:00", "EventBus:Retention:DefaultMaxAge must not be negative")]
    [InlineData("--EventBus:Retention:MaxEvents=0", "EventBus:Retention:MaxEvents must be at least 1 (got 0)")]
    [InlineData("--EventBus:Retention:BatchSize=0", "EventBus:Retention:BatchSize must be between 1 and 10000 (got 0)")]
    [InlineData("--EventBus:Retention:Interval=00:00:00", "EventBus:Retention:Interval must be between")]
    public void BadRetentionSettings_StopStartupWithAMessageNamingTheSetting(string setting, string message)
    {
        var act = () => EventBusApp.Build([setting, "--db", Path.Combine(Path.GetTempPath(), "unused.db")]);
        act.Should().Throw<ConfigurationException>().WithMessage("*" + message + "*");
    }

    [Fact]
    public void RetentionSettings_OnAStoreWithoutRetention_StopStartup_AndWithoutSettingsItStartsWithoutRetention()
    {
        var db = Path.Combine(Path.GetTempPath(), "unused.db");
        void WithoutRetention(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder) =>
            builder.Services.RemoveAll<IRetentionStore>();
        var act = () => EventBusApp.Build(["--EventBus:Retention:MaxEvents=100", "--db", db], WithoutRetention);
        act.Should().Throw<ConfigurationException>().WithMessage("*provides no IRetentionStore*");
        var app = EventBusApp.Build(["--db", db], WithoutRetention);
        app.Should().NotBeNull();
    }
}
