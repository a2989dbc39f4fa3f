using System.Net;
using EventBus.Core.Security;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Api;

/// <summary>/api/v1/webhooks, /deliveries (admin only), /me, /tokens and /health over the real host.</summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private BusHost _host = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _host = await BusHost.StartAsync(false, "--EventBus:Webhooks:AllowPrivateNetworks=true");
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Webhooks_AreListedWithoutSecrets_AndADeliveryIsRedeliveredWithItsId()
    {
        var client = await _host.ConnectAsync();
        var hook = await client.CallAsync("register_webhook", new { url = _receiver.Url(), channel = "alerts:" });
        await _host.PublishAsync("disk_full", "alerts:disk");
        var first = (await _receiver.WaitForAsync(1)).Single();

        using var listed = await _host.Http.GetAsync("/api/v1/webhooks", TestTimeouts.Token());
        var text = await listed.Content.ReadAsStringAsync();
        text.Should().NotContain(hook.Str("secret"));
        var webhook = (await ApiCalls.JsonAsync(listed)).GetProperty("webhooks").EnumerateArray().Single();
        webhook.Str("webhook_id").Should().Be(hook.Str("webhook_id"));
        webhook.GetProperty("has_secret").GetBoolean().Should().BeTrue();

        var deliveries = await _host.GetJsonAsync("/api/v1/deliveries");
        var delivery = deliveries.GetProperty("deliveries").EnumerateArray().Single();
        var id = delivery.Str("delivery_id");
        first.Header("webhook-id").Should().Be(id);
        await Waiting.UntilAsync(_host.Service<EventBus.Server.Webhooks.WebhookDispatcher>().Changed, async () =>
            (await _host.GetJsonAsync("/api/v1/deliveries")).GetProperty("deliveries")[0].Str("status") == "delivered");

        using var redelivered = await _host.PostApiAsync($"/api/v1/deliveries/{id}/redeliver", "");
        redelivered.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ApiCalls.JsonAsync(redelivered)).Str("status").Should().Be("pending");
        var again = await _receiver.WaitForAsync(2);
        again[1].Header("webhook-id").Should().Be(id);
    }

    [Fact]
    public async Task AWebhook_IsPausedAndResumed_AndBadInputIsAProblem()
    {
        var client = await _host.ConnectAsync();
        var hook = await client.CallAsync("register_webhook", new { url = _receiver.Url() });
        var id = hook.Str("webhook_id");

        using var paused = await _host.PostApiAsync($"/api/v1/webhooks/{id}/active", """{"active":false}""");
        paused.StatusCode.Should().Be(HttpStatusCode.OK);
        (await _host.GetJsonAsync("/api/v1/webhooks")).GetProperty("webhooks")[0].GetProperty("active").GetBoolean().Should().BeFalse();
        (await _host.GetJsonAsync("/api/v1/webhooks?active_only=true")).GetProperty("count").GetInt32().Should().Be(0);

        using var bad = await _host.PostApiAsync($"/api/v1/webhooks/{id}/active", """{"active":"yes"}""");
        (await ApiCalls.ProblemDetailAsync(bad, HttpStatusCode.BadRequest)).Should().Contain("{\"active\": true}");
        using var unknown = await _host.PostApiAsync("/api/v1/webhooks/nope/active", """{"active":true}""");
        (await ApiCalls.ProblemDetailAsync(unknown, HttpStatusCode.NotFound)).Should().Contain("nope");
        using var badDelivery = await _host.PostApiAsync("/api/v1/deliveries/abc/redeliver", "");
        (await ApiCalls.ProblemDetailAsync(badDelivery, HttpStatusCode.BadRequest)).Should().Contain("msg_42");
        using var missingDelivery = await _host.PostApiAsync("/api/v1/deliveries/msg_999/redeliver", "");
        (await ApiCalls.ProblemDetailAsync(missingDelivery, HttpStatusCode.NotFound)).Should().Contain("msg_999");
        using var badStatus = await _host.Http.GetAsync("/api/v1/deliveries?status=lost", TestTimeouts.Token());
        (await ApiCalls.ProblemDetailAsync(badStatus, HttpStatusCode.BadRequest)).Should().Contain("status must be one of");
        using var badFlag = await _host.Http.GetAsync("/api/v1/webhooks?active_only=maybe", TestTimeouts.Token());
        (await ApiCalls.ProblemDetailAsync(badFlag, HttpStatusCode.BadRequest)).Should().Contain("active_only must be true or false");
    }

    [Theory]
    [InlineData("GET", "/api/v1/webhooks")]
    [InlineData("GET", "/api/v1/deliveries")]
    [InlineData("POST", "/api/v1/deliveries/msg_1/redeliver")]
    [InlineData("POST", "/api/v1/webhooks/w/active")]
    [InlineData("GET", "/api/v1/tokens")]
    public async Task AdminEndpoints_RefuseAPublishToken_With403SayingWhy(string method, string path)
    {
        var publish = await _host.CreateTokenAsync("writer", TokenScope.Publish);
        using var http = _host.Api(publish);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = TokenClients.Json("""{"active":true}""");
        }

        using var response = await http.SendAsync(request, TestTimeouts.Token());

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.Forbidden)).Should().Contain("admin scope").And.Contain("\"writer\"");
    }

    [Fact]
    public async Task Me_SaysWhatTheCallerMayDo()
    {
        var open = await _host.GetJsonAsync("/api/v1/me");
        open.GetProperty("auth_required").GetBoolean().Should().BeFalse();
        open.GetProperty("may_admin").GetBoolean().Should().BeTrue();

        var read = await _host.CreateTokenAsync("watcher", TokenScope.Read);
        using var anonymous = await _host.Http.GetAsync("/api/v1/me", TestTimeouts.Token());
        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        using var http = _host.Api(read);
        var me = await ApiCalls.JsonAsync(await http.GetAsync("/api/v1/me", TestTimeouts.Token()));
        me.GetProperty("auth_required").GetBoolean().Should().BeTrue();
        me.GetProperty("token").Str("name").Should().Be("watcher");
        me.Str("scope").Should().Be("read");
        me.GetProperty("may_publish").GetBoolean().Should().BeFalse();
        me.GetProperty("may_admin").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Tokens_AreListedForAnAdmin_WithoutSecretOrHash()
    {
        var admin = await _host.CreateTokenAsync("ops", TokenScope.Admin);
        await _host.CreateTokenAsync("watcher", TokenScope.Read);
        using var http = _host.Api(admin);

        using var response = await http.GetAsync("/api/v1/tokens", TestTimeouts.Token());
        var text = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        text.Should().NotContain(admin).And.NotContain(TokenSecrets.Hash(admin)).And.NotContain("hash");
        (await ApiCalls.JsonAsync(response)).GetProperty("tokens").EnumerateArray().Select(t => (t.Str("name"), t.Str("scope")))
            .Should().BeEquivalentTo([("ops", "admin"), ("watcher", "read")]);
    }

    [Fact]
    public async Task Health_TellsVersionStoreSizeUptimeAndOpenStreams()
    {
        using var stream = await _host.Http.GetAsync("/api/v1/stream", HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
        stream.StatusCode.Should().Be(HttpStatusCode.OK);

        var health = await _host.GetJsonAsync("/api/v1/health");

        health.Str("status").Should().Be("ok");
        health.Str("version").Should().NotBeNullOrEmpty();
        health.GetProperty("store").Str("kind").Should().Be(TestStore.IsPostgres ? "postgres" : "sqlite");
        health.GetProperty("store").GetProperty("size_bytes").GetInt64().Should().BePositive();
        health.GetProperty("uptime_seconds").GetDouble().Should().BeGreaterThanOrEqualTo(0);
        health.GetProperty("open_streams").GetInt32().Should().Be(1);
    }
}
