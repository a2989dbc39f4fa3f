using System.Net;
using System.Net.Http.Headers;
using EventBus.Core.Security;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Metrics;

/// <summary>
/// /metrics through the real host, and OTLP export to a real HTTP receiver. The meter is process-wide, so counts may
/// include other tests' events running at the same time: these tests assert what must be there, never exact totals.
/// </summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_AreServedInPrometheusFormat_WithTheBusInstruments()
    {
        await using var host = await BusHost.StartAsync();
        var client = await host.ConnectAsync();
        await client.CallAsync("register_session", new { name = "watcher", machine = "m", client_id = "metrics-watcher" });
        await client.CallAsync("publish_event", new { event_type = "note", payload = "over mcp", channel = "repo:metrics" });
        await host.PublishAsync("note", "repo:metrics");
        using (var ingested = await host.PostApiAsync("/api/v1/ingest/alerts:metrics", """{"status":"firing"}"""))
        {
            ingested.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        var text = await ScrapeAsync(host, token: null);
        text.Should().Contain("# TYPE eventbus_events_published_total counter");
        Value(text, "eventbus_events_published_total", "origin=\"publish\"").Should().BeGreaterThanOrEqualTo(2);
        Value(text, "eventbus_events_published_total", "origin=\"ingest\"").Should().BeGreaterThanOrEqualTo(1);
        Value(text, "eventbus_ingest_requests_total", "outcome=\"stored\"").Should().BeGreaterThanOrEqualTo(1);
        Value(text, "eventbus_publish_duration_seconds_count", "origin=\"publish\"").Should().BeGreaterThanOrEqualTo(2);
        Value(text, "eventbus_commit_group_size_count", "").Should().BeGreaterThanOrEqualTo(3);
        // Gauges are per host; other hosts in this test process report theirs under the same name, so only presence here.
        text.Should().Contain("eventbus_mcp_sessions{");
        text.Should().Contain("eventbus_store_size_bytes{").And.Contain("file=\"database\"");
        text.Should().Contain("eventbus_webhook_queue_depth");
        text.Should().NotContain("repo:metrics", "raw channel names never become labels");
    }

    [Fact]
    public async Task Metrics_NeedAToken_OnceTokensExist_AnyScopeWill()
    {
        await using var host = await BusHost.StartAsync();
        var secret = await host.CreateTokenAsync("scraper", TokenScope.Read);

        using (var anonymous = await host.Http.GetAsync("/metrics", TestTimeouts.Token()))
        {
            anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        (await ScrapeAsync(host, secret)).Should().Contain("eventbus_");
        Value(await ScrapeAsync(host, secret), "eventbus_auth_failures_total", "reason=\"missing\"").Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Metrics_CanBeTurnedOff()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:Metrics:Enabled=false");
        using var response = await host.Http.GetAsync("/metrics", TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Otlp_ExportsMetricsAndTraces_AndAWebhookDeliveryContinuesThePublishersTrace()
    {
        await using var collector = await WebhookReceiver.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = await BusHost.StartAsync(
            false,
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={collector.BaseUri.ToString().TrimEnd('/')}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_METRIC_EXPORT_INTERVAL=200",
            "--OTEL_BSP_SCHEDULE_DELAY=200",
            "--EventBus:Webhooks:AllowPrivateNetworks=true");
        var client = await host.ConnectAsync();
        await client.CallAsync("register_webhook", new { url = receiver.Url(), channel = "traced" });

        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/events")
        {
            Content = new StringContent("""{"event_type":"traced","payload":"p","channel":"traced"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
        using (var published = await host.Http.SendAsync(request, TestTimeouts.Token()))
        {
            published.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        // The delivery went through the durable outbox, yet it carries the publishing request's trace to the receiver.
        var delivery = (await receiver.WaitForAsync(1)).Single();
        delivery.Header("traceparent").Should().StartWith($"00-{traceId}-");

        var traceBytes = Convert.FromHexString(traceId);
        await collector.WaitUntilAsync(requests =>
            requests.Any(r => r.Path == "/v1/metrics") &&
            requests.Any(r => r.Path == "/v1/traces" && Contains(r.Body, traceBytes) && Contains(r.Body, "eventbus.publish"u8.ToArray())) &&
            requests.Any(r => r.Path == "/v1/traces" && Contains(r.Body, traceBytes) && Contains(r.Body, "eventbus.webhook.attempt"u8.ToArray())));
        collector.Requests.First(r => r.Path == "/v1/metrics").Header("content-type").Should().Be("application/x-protobuf");
    }

    private static async Task<string> ScrapeAsync(BusHost host, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await host.Http.SendAsync(request, TestTimeouts.Token());
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        return text;
    }

    /// <summary>The sum of a metric's samples whose labels contain <paramref name="label"/>.</summary>
    private static double Value(string text, string metric, string label) =>
        text.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal))
            .Where(l => l.Contains(label, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
