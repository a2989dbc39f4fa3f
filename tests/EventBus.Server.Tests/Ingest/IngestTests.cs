using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Ingest;

/// <summary>
/// <c>POST /api/v1/ingest/{channel}</c> on the real server with sample payloads written from Alertmanager's, Grafana's
/// and GitHub's documentation: recognition, authentication, idempotency, limits.
/// </summary>
public sealed class IngestTests
{
    private const string GitHubSecret = "gh-webhook-secret-for-tests";
    private const string Token = "ingest-token-0123456789abcdef";
    private static readonly string StandardSecret = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static readonly string[] Sources =
    [
        "--EventBus:Ingest:Sources:github:GitHubSecret=" + GitHubSecret,
        "--EventBus:Ingest:Sources:prometheus:Token=" + Token,
        "--EventBus:Ingest:Sources:prometheus:Channels:0=alerts:#",
        "--EventBus:Ingest:Sources:svix:StandardWebhooksSecret=" + StandardSecret,
    ];

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Ingest", "Fixtures", name));

    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(
        BusHost host, string path, string body, Action<HttpRequestMessage>? adjust = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        adjust?.Invoke(request);
        var response = await host.Http.SendAsync(request, TestTimeouts.Token());
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default, response);
    }

    private static async Task<JsonElement> ReadEventAsync(BusHost host, long id)
    {
        var page = await host.Http.GetFromJsonAsync<JsonElement>($"/api/v1/events?cursor={id - 1}&limit=1", TestTimeouts.Token());
        return page.GetProperty("events")[0];
    }

    private static string HubSignature(string secret, string body) =>
        "sha256=" + Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body))).ToLowerInvariant();

    [Fact]
    public async Task AnAlertmanagerNotification_BecomesAnActionableAlertEvent_StoredOnceWhenRetried()
    {
        await using var host = await BusHost.StartAsync();
        var firing = Fixture("alertmanager-firing.json");

        var (status, reply, _) = await PostAsync(host, "/api/v1/ingest/alerts:prod", firing);
        status.Should().Be(HttpStatusCode.Created, reply.ToString());
        reply.Str("detected").Should().Be("alertmanager");
        reply.Str("source").Should().Be("local", "unauthenticated on a loopback bind");
        reply.GetProperty("duplicate").GetBoolean().Should().BeFalse();
        var e = await ReadEventAsync(host, reply.GetProperty("event_id").GetInt64());
        e.Str("event_type").Should().Be("alert_firing");
        e.Str("signal_level").Should().Be("actionable");
        e.Str("title").Should().Be("[FIRING:1] DiskFull (critical) — Disk /var is 97% full on db-1");
        e.Str("channel").Should().Be("alerts:prod");
        e.Str("session_id").Should().Be("ingest:local");
        e.Str("payload").Should().Be(firing, "the payload is the body as sent");
        e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Contain(["alertmanager", "status:firing", "severity:critical", "alertname:DiskFull"]);
        var correlation = e.Str("correlation_id");

        var (again, duplicate, _) = await PostAsync(host, "/api/v1/ingest/alerts:prod", firing);
        again.Should().Be(HttpStatusCode.OK);
        duplicate.GetProperty("duplicate").GetBoolean().Should().BeTrue();
        duplicate.GetProperty("event_id").GetInt64().Should().Be(reply.GetProperty("event_id").GetInt64());

        var (_, resolved, _) = await PostAsync(host, "/api/v1/ingest/alerts:prod", Fixture("alertmanager-resolved.json"));
        resolved.GetProperty("duplicate").GetBoolean().Should().BeFalse();
        var r = await ReadEventAsync(host, resolved.GetProperty("event_id").GetInt64());
        r.Str("event_type").Should().Be("alert_resolved");
        r.Str("signal_level").Should().Be("info");
        r.Str("title").Should().StartWith("[RESOLVED:1] DiskFull");
        r.Str("correlation_id").Should().Be(correlation, "firing and resolved share the alert group as their thread");

        var page = await host.Http.GetFromJsonAsync<JsonElement>("/api/v1/events?channel=alerts:prod&limit=10", TestTimeouts.Token());
        page.GetProperty("events").GetArrayLength().Should().Be(2, "the retried notification was stored once");
    }

    [Fact]
    public async Task AGrafanaAlert_IsRecognised_WithGrafanasOwnTitle()
    {
        await using var host = await BusHost.StartAsync();
        var (status, reply, _) = await PostAsync(host, "/api/v1/ingest/alerts:grafana", Fixture("grafana-firing.json"));
        status.Should().Be(HttpStatusCode.Created);
        reply.Str("detected").Should().Be("grafana");
        var e = await ReadEventAsync(host, reply.GetProperty("event_id").GetInt64());
        e.Str("event_type").Should().Be("alert_firing");
        e.Str("title").Should().Be("[FIRING:2]  (Production blue)");
        e.Str("signal_level").Should().Be("actionable", "a firing alert that states no severity is treated as loud");
        e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Contain(["grafana", "alertname:High memory usage", "alertname:High CPU usage"]);
    }

    [Fact]
    public async Task AGitHubWorkflowFailure_VerifiedByItsSignature_BecomesCiFailed_AndItsRedeliveryIsStoredOnce()
    {
        await using var host = await BusHost.StartAsync(false, Sources);
        var body = Fixture("github-workflow-run-failure.json");
        void GitHub(HttpRequestMessage m, string signature)
        {
            m.Headers.Add("X-GitHub-Event", "workflow_run");
            m.Headers.Add("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
            m.Headers.Add("X-Hub-Signature-256", signature);
            m.Headers.UserAgent.ParseAdd("GitHub-Hookshot/044aadd");
        }

        var (status, reply, _) = await PostAsync(host, "/api/v1/ingest/repo:eventbus", body, m => GitHub(m, HubSignature(GitHubSecret, body)));
        status.Should().Be(HttpStatusCode.Created, reply.ToString());
        reply.Str("source").Should().Be("github");
        reply.Str("detected").Should().Be("github");
        var e = await ReadEventAsync(host, reply.GetProperty("event_id").GetInt64());
        e.Str("event_type").Should().Be("ci_failed");
        e.Str("signal_level").Should().Be("actionable");
        e.Str("title").Should().Be("CI failure on main (octo-org/eventbus)");
        e.Str("session_id").Should().Be("ingest:github");

        var (again, duplicate, _) = await PostAsync(host, "/api/v1/ingest/repo:eventbus", body, m => GitHub(m, HubSignature(GitHubSecret, body)));
        again.Should().Be(HttpStatusCode.OK);
        duplicate.GetProperty("event_id").GetInt64().Should().Be(e.GetProperty("id").GetInt64());

        var (bad, problem, response) = await PostAsync(host, "/api/v1/ingest/repo:eventbus", body, m => GitHub(m, HubSignature("wrong secret", body)));
        bad.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        problem.Str("detail").Should().Contain("signature does not verify");
        var (tampered, _, _) = await PostAsync(host, "/api/v1/ingest/repo:eventbus", body.Replace("failure", "success", StringComparison.Ordinal),
            m => GitHub(m, HubSignature(GitHubSecret, body)));
        tampered.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task AGitHubPush_IsSummarised()
    {
        await using var host = await BusHost.StartAsync(false, Sources);
        var body = Fixture("github-push.json");
        var (status, reply, _) = await PostAsync(host, "/api/v1/ingest/repo:eventbus", body, m =>
        {
            m.Headers.Add("X-GitHub-Event", "push");
            m.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
            m.Headers.Add("X-Hub-Signature-256", HubSignature(GitHubSecret, body));
        });
        status.Should().Be(HttpStatusCode.Created);
        var e = await ReadEventAsync(host, reply.GetProperty("event_id").GetInt64());
        e.Str("event_type").Should().Be("github_push");
        e.Str("signal_level").Should().Be("info");
        e.Str("title").Should().Be("octocat pushed 2 commits to main (octo-org/eventbus)");
    }

    [Fact]
    public async Task WithoutUnauthenticatedIngest_ATokenIsNeeded_AndAWrongOneRefused()
    {
        await using var host = await BusHost.StartAsync(false, [.. Sources, "--EventBus:Ingest:AllowUnauthenticated=false"]);
        var body = Fixture("alertmanager-firing.json");

        var (missing, problem, response) = await PostAsync(host, "/api/v1/ingest/alerts:prod", body);
        missing.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().StartWith("Bearer");
        problem.Str("detail").Should().Contain("Ingest needs credentials");

        (await PostAsync(host, "/api/v1/ingest/alerts:prod", body, m => m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token-at-all")))
            .Status.Should().Be(HttpStatusCode.Unauthorized);
        var (ok, reply, _) = await PostAsync(host, "/api/v1/ingest/alerts:prod", body, m => m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token));
        ok.Should().Be(HttpStatusCode.Created);
        reply.Str("source").Should().Be("prometheus");
        (await PostAsync(host, $"/api/v1/ingest/alerts:prod?token={Token}", Fixture("alertmanager-resolved.json"))).Status.Should().Be(HttpStatusCode.Created);

        var (forbidden, denied, _) = await PostAsync(host, "/api/v1/ingest/repo:eventbus", body, m => m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token));
        forbidden.Should().Be(HttpStatusCode.Forbidden);
        denied.Str("detail").Should().Contain("may not publish to channel \"repo:eventbus\"");
    }

    [Fact]
    public async Task OnANonLoopbackBind_IngestWithoutCredentials_IsRefused()
    {
        // (Even with the rest of the bus served without tokens.)
        await using var host = await BusHost.StartAsync(false, "--host", "0.0.0.0", "--insecure-no-auth");
        using var http = new HttpClient { BaseAddress = new UriBuilder(host.BaseUri) { Host = "127.0.0.1" }.Uri };
        using var response = await http.PostAsync(
            "/api/v1/ingest/alerts:prod", new StringContent(Fixture("alertmanager-firing.json"), Encoding.UTF8, "application/json"), TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync(TestTimeouts.Token())).Should().Contain("only accepted when the server is bound to loopback");
    }

    [Fact]
    public async Task AStandardWebhooksSender_IsVerified_AndIdempotentOnItsWebhookId()
    {
        await using var host = await BusHost.StartAsync(false, Sources);
        const string body = """{"type":"invoice.paid","timestamp":"2026-11-22T02:14:00Z","data":{"id":"inv_1"}}""";
        void Sign(HttpRequestMessage m, DateTimeOffset at, string id = "msg_2Lh9KRb0pzN4LePd")
        {
            var ts = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var key = Convert.FromBase64String(StandardSecret["whsec_".Length..]);
            var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{ts}.{body}")));
            m.Headers.Add("webhook-id", id);
            m.Headers.Add("webhook-timestamp", ts);
            m.Headers.Add("webhook-signature", "v1," + signature);
        }

        var (status, reply, _) = await PostAsync(host, "/api/v1/ingest/billing", body, m => Sign(m, DateTimeOffset.UtcNow));
        status.Should().Be(HttpStatusCode.Created, reply.ToString());
        reply.Str("source").Should().Be("svix");
        reply.Str("event_type").Should().Be("invoice.paid", "a generic body's own type field names the event");
        (await PostAsync(host, "/api/v1/ingest/billing", body, m => Sign(m, DateTimeOffset.UtcNow))).Body.GetProperty("duplicate").GetBoolean().Should().BeTrue();

        var (stale, problem, _) = await PostAsync(host, "/api/v1/ingest/billing", body, m => Sign(m, DateTimeOffset.UtcNow.AddMinutes(-10), "msg_other"));
        stale.Should().Be(HttpStatusCode.Unauthorized);
        problem.Str("detail").Should().Contain("webhook-timestamp");
    }

    [Fact]
    public async Task BadBodies_AreRefusedWithProblemDetails()
    {
        await using var host = await BusHost.StartAsync();
        var big = JsonSerializer.Serialize(new { blob = new string('x', 70 * 1024) });
        var (tooLarge, problem, _) = await PostAsync(host, "/api/v1/ingest/alerts:prod", big);
        tooLarge.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        problem.Str("detail").Should().Contain("65536");

        var (notJson, bad, _) = await PostAsync(host, "/api/v1/ingest/alerts:prod", "firing: yes");
        notJson.Should().Be(HttpStatusCode.BadRequest);
        bad.Str("detail").Should().Contain("not valid JSON");

        var (overridden, reply, _) = await PostAsync(host, "/api/v1/ingest/ops?event_type=deploy_done&signal_level=actionable&title=Shipped", """{"version":"1.2.3"}""");
        overridden.Should().Be(HttpStatusCode.Created);
        reply.Str("event_type").Should().Be("deploy_done");
        reply.Str("signal_level").Should().Be("actionable");
        reply.Str("title").Should().Be("Shipped");
        (await PostAsync(host, "/api/v1/ingest/ops?signal_level=loud", "{}")).Status.Should().Be(HttpStatusCode.BadRequest);
    }
}
