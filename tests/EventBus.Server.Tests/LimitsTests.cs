using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using EventBus.Server.Hosting;
using EventBus.Server.Limits;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EventBus.Server.Tests;

/// <summary>
/// Per-caller rate limits and caps (<c>EventBus:Limits</c>) and Kestrel's request limits, over the real host. Rates run
/// on the manual clock: the buckets refill only when a test moves it. The tests run on loopback, so most turn
/// <c>ExemptLoopback</c> off; a test header stands in for the bearer token the authentication handler will read.
/// </summary>
public sealed class LimitsTests
{
    private const string TokenHeader = "X-Test-Token";
    private const string Publish = """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"publish_event","arguments":{"event_type":"t","payload":"p"}}}""";
    private const string Register = """{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"register_session","arguments":{"name":"worker"}}}""";

    [Fact]
    public async Task Publish_OverTheLimit_Answers429WithRetryAfterOnMcpAndRest_AndRecoversWhenTheBucketRefills()
    {
        await using var host = await StartAsync("--EventBus:Limits:PublishPerSecond=1", "--EventBus:Limits:PublishBurst=3");

        for (var i = 0; i < 2; i++)
        {
            await PublishMcpOkAsync(host);
        }

        await host.PublishAsync("third");

        using (var mcp = await host.PostAsync(Publish))
        {
            await ShouldBeJsonRpcRefusalAsync(mcp, "publish", retryAfter: 1, "may publish 1 events per second", "bursts of up to 3");
        }

        using (var rest = await PostEventAsync(host))
        {
            await ShouldBeProblemRefusalAsync(rest, "publish", retryAfter: 1);
        }

        // Refused publishes stored nothing and took no tokens: one second buys exactly one more.
        host.Time!.Advance(TimeSpan.FromSeconds(1));
        await PublishMcpOkAsync(host);
        using (var again = await PostEventAsync(host))
        {
            again.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        }

        host.Time.Advance(TimeSpan.FromSeconds(1));
        await host.PublishAsync("after refill");
        (await host.StoredIdsAsync()).Should().HaveCount(5);
    }

    [Fact]
    public async Task Ingest_CountsAsPublishing_429WithRetryAfter_ThenRecovers()
    {
        await using var host = await StartAsync("--EventBus:Limits:PublishPerSecond=1", "--EventBus:Limits:PublishBurst=2");
        async Task<HttpResponseMessage> IngestAsync(int n) => await host.Http.PostAsync(
            "/api/v1/ingest/alerts:test", new StringContent($$"""{"alert":"disk full","n":{{n}}}""", System.Text.Encoding.UTF8, "application/json"));

        (await IngestAsync(1)).StatusCode.Should().Be(HttpStatusCode.Created);
        (await IngestAsync(2)).StatusCode.Should().Be(HttpStatusCode.Created);
        using (var refused = await IngestAsync(3))
        {
            await ShouldBeProblemRefusalAsync(refused, "publish", retryAfter: 1);
        }

        host.Time!.Advance(TimeSpan.FromSeconds(1));
        (await IngestAsync(4)).StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Batch_CountsEachEvent_AndABatchLargerThanTheBurstLeavesTheBucketInDebt()
    {
        await using var host = await StartAsync("--EventBus:Limits:PublishPerSecond=1", "--EventBus:Limits:PublishBurst=3");

        await host.PublishAsync("one");
        using (var tooMany = await PostBatchAsync(host, 3))
        {
            var detail = await ShouldBeProblemRefusalAsync(tooMany, "publish", retryAfter: 1);
            detail.Should().Contain("a batch counts each event");
        }

        (await host.StoredIdsAsync()).Should().HaveCount(1, "a refused batch stores nothing");

        // A full bucket lets a batch of 5 through and owes 2: the next single event waits 3 s, as 6 events at 1/s should.
        host.Time!.Advance(TimeSpan.FromSeconds(1));
        using (var large = await PostBatchAsync(host, 5))
        {
            large.StatusCode.Should().Be(HttpStatusCode.Created, await large.Content.ReadAsStringAsync());
        }

        using (var next = await PostEventAsync(host))
        {
            await ShouldBeProblemRefusalAsync(next, "publish", retryAfter: 3);
        }

        host.Time.Advance(TimeSpan.FromSeconds(3));
        await host.PublishAsync("paid off");
        (await host.StoredIdsAsync()).Should().HaveCount(7);
    }

    [Fact]
    public async Task RegisterSession_OverTheLimit_Answers429_AndRecovers()
    {
        await using var host = await StartAsync("--EventBus:Limits:RegisterPerMinute=2", "--EventBus:Limits:RegisterBurst=2");

        for (var i = 0; i < 2; i++)
        {
            using var ok = await host.PostAsync(Register);
            (await BusHost.FirstDataAsync(ok)).GetProperty("result").GetProperty("structuredContent").GetProperty("result")
                .TryGetProperty("session_id", out _).Should().BeTrue();
        }

        using (var refused = await host.PostAsync(Register))
        {
            await ShouldBeJsonRpcRefusalAsync(refused, "register", retryAfter: 30, "may register 2 sessions per minute");
        }

        // Other tools are not counted against registration.
        await PublishMcpOkAsync(host);

        host.Time!.Advance(TimeSpan.FromSeconds(30));
        using var recovered = await host.PostAsync(Register);
        recovered.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task SessionCap_RefusesTheNextSession_AndFreesAPlaceWhenOneCloses()
    {
        await using var host = await StartAsync("--EventBus:Limits:MaxSessionsPerCaller=2");
        var first = await host.InitializeAsync();
        await host.InitializeAsync();

        using (var third = await InitializeRawAsync(host))
        {
            await ShouldBeJsonRpcRefusalAsync(third, "sessions", retryAfter: null, "may hold 2 open at once", "DELETE /mcp");
        }

        host.Service<CallerLimits>().Held("ip:127.0.0.1").Sessions.Should().Be(2);
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, host.McpUri))
        {
            delete.Headers.Add("Mcp-Session-Id", first);
            using var deleted = await host.Http.SendAsync(delete, TestTimeouts.Token());
            deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await host.InitializeAsync();
        host.Service<CallerLimits>().Held("ip:127.0.0.1").Sessions.Should().Be(2);
    }

    [Fact]
    public async Task SessionCap_PlaceIsFreedWhenAnIdleSessionIsPruned()
    {
        await using var host = await StartAsync("--EventBus:Limits:MaxSessionsPerCaller=1");
        var id = await host.InitializeAsync();

        // The server may still be finishing the initialize request after its answer went out: the clock moves once it
        // has (a request ending later would count as activity after the move, and the session would not be idle).
        host.Service<Mcp.McpSessionStore>().TryGet(id, out var session).Should().BeTrue();
        await Waiting.UntilAsync(session.RequestsChanged, () => session.ActiveRequests == 0);
        host.Time!.Advance(TimeSpan.FromHours(3));
        await host.Service<Mcp.McpSessionStore>().PruneIdleAsync();

        await host.InitializeAsync();
    }

    [Fact]
    public async Task StreamCap_CountsMcpAndRestStreamsTogether_AndFreesAPlaceWhenOneCloses()
    {
        await using var host = await StartAsync("--EventBus:Limits:MaxStreamsPerCaller=2");
        var session = await host.InitializeAsync();
        var other = await host.InitializeAsync();

        var rest = await OpenRestStreamAsync(host);
        rest.StatusCode.Should().Be(HttpStatusCode.OK);
        using var mcp = await OpenMcpStreamAsync(host, session);
        mcp.StatusCode.Should().Be(HttpStatusCode.OK);

        using (var refusedRest = await OpenRestStreamAsync(host))
        {
            var detail = await ShouldBeProblemRefusalAsync(refusedRest, "streams", retryAfter: null);
            detail.Should().Contain("may hold 2 open at once").And.Contain("Close one");
        }

        using (var refusedMcp = await OpenMcpStreamAsync(host, other))
        {
            await ShouldBeJsonRpcRefusalAsync(refusedMcp, "streams", retryAfter: null, "MaxStreamsPerCaller");
        }

        // Closing the REST stream gives its place back once the server sees the client go.
        rest.Dispose();
        var limits = host.Service<CallerLimits>();
        await Waiting.UntilAsync(limits.StreamsChanged, () => limits.Held("ip:127.0.0.1").Streams == 1);
        using var reopened = await OpenMcpStreamAsync(host, other);
        reopened.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TokenCallers_HaveTheirOwnBuckets_AndLocalCallersWithoutATokenAreExemptByDefault()
    {
        await using var host = await BusHost.StartAsync(manualTime: true, TestTokens, "--EventBus:Limits:PublishPerSecond=1", "--EventBus:Limits:PublishBurst=2");

        // No token, on loopback: the machine's own callers, not limited (ExemptLoopback defaults to true).
        for (var i = 0; i < 5; i++)
        {
            await host.PublishAsync($"local {i}");
        }

        foreach (var token in new[] { "alice", "bob" })
        {
            for (var i = 0; i < 2; i++)
            {
                using var ok = await PostEventAsync(host, token);
                ok.StatusCode.Should().Be(HttpStatusCode.Created);
            }
        }

        using var refused = await PostEventAsync(host, "alice");
        await ShouldBeProblemRefusalAsync(refused, "publish", retryAfter: 1);
        using var mcpRefused = await host.PostAsync(Publish, adjust: r => r.Headers.Add(TokenHeader, "bob"));
        mcpRefused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task OversizedRequestHeaders_Get431()
    {
        await using var host = await BusHost.StartAsync(false, "--EventBus:Limits:MaxRequestHeaderBytes=8192", "--EventBus:Limits:MaxRequestHeaderCount=50");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Add("X-Big", new string('a', 9000));
        using var response = await host.Http.SendAsync(request, TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.RequestHeaderFieldsTooLarge);

        using var tooMany = new HttpRequestMessage(HttpMethod.Get, "/health");
        for (var i = 0; i < 60; i++)
        {
            tooMany.Headers.Add($"X-H{i}", "v");
        }

        using var refused = await host.Http.SendAsync(tooMany, TestTimeouts.Token());
        refused.StatusCode.Should().Be(HttpStatusCode.RequestHeaderFieldsTooLarge);

        using var fine = await host.Http.GetAsync("/health", TestTimeouts.Token());
        fine.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task WellBehavedAgent_IsNeverLimited_AndIdleStreamsOutliveTheMinimumDataRateGrace()
    {
        // The default limits, applied to this loopback caller too; a short grace so that idling past it is quick.
        await using var host = await StartAsync("--EventBus:Limits:MinDataRateGracePeriod=00:00:01.5", "--EventBus:Mcp:StreamStallTimeout=00:00:01.5");
        var session = await host.InitializeAsync();
        using var rest = await OpenRestStreamAsync(host);
        using var mcp = await OpenMcpStreamAsync(host, session);
        rest.StatusCode.Should().Be(HttpStatusCode.OK);
        mcp.StatusCode.Should().Be(HttpStatusCode.OK);

        // Both streams write nothing for longer than the grace period. Kestrel's data-rate heartbeat runs on the real
        // clock, which tests cannot move, so this one test lets real time pass; it asserts only that nothing was cut.
        await Task.Delay(TimeSpan.FromSeconds(3), TestTimeouts.Token());

        // A few hundred publishes at a normal agent's pace (a registration, then 10 events a second, with a burst).
        using (var registered = await host.PostAsync(Register))
        {
            registered.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        for (var i = 0; i < 300; i++)
        {
            if (i % 2 == 0)
            {
                await PublishMcpOkAsync(host);
            }
            else
            {
                using var published = await PostEventAsync(host);
                published.StatusCode.Should().Be(HttpStatusCode.Created);
            }

            host.Time!.Advance(TimeSpan.FromMilliseconds(i < 100 ? 0 : 100));
        }

        using (var batch = await PostBatchAsync(host, 200))
        {
            batch.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        var events = SseParser.Create(await rest.Content.ReadAsStreamAsync(TestTimeouts.Token())).EnumerateAsync(TestTimeouts.Token());
        var received = 0;
        await foreach (var _ in events)
        {
            if (++received == 500)
            {
                break;
            }
        }

        var mcpBody = await mcp.Content.ReadAsStreamAsync(TestTimeouts.Token());
        host.Time!.Advance(TimeSpan.FromSeconds(15));
        (await ReadTextAsync(mcpBody, ": keepalive")).Should().Contain(": keepalive");
    }

    private static Task<BusHost> StartAsync(params string[] args) =>
        BusHost.StartAsync(manualTime: true, TestTokens, ["--EventBus:Limits:ExemptLoopback=false", .. args]);

    /// <summary>Stands in for bearer authentication: the header's value becomes the token id claim.</summary>
    private static void TestTokens(IServiceCollection services) => services.AddSingleton<IStartupFilter, TestTokenFilter>();

    private sealed class TestTokenFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers[TokenHeader].ToString() is { Length: > 0 } token)
                {
                    context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(CallerKey.TokenIdClaim, token)], "test"));
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private static async Task PublishMcpOkAsync(BusHost host)
    {
        using var response = await host.PostAsync(Publish);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("structuredContent").GetProperty("result")
            .TryGetProperty("event_id", out _).Should().BeTrue();
    }

    private static async Task<HttpResponseMessage> PostEventAsync(BusHost host, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/events")
        {
            Content = new StringContent("""{"event_type":"t","payload":"p"}""", Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Add(TokenHeader, token);
        }

        return await host.Http.SendAsync(request, TestTimeouts.Token());
    }

    private static Task<HttpResponseMessage> PostBatchAsync(BusHost host, int count) =>
        host.PostApiAsync("/api/v1/events:batch", JsonSerializer.Serialize(Enumerable.Range(0, count).Select(i => new { event_type = "b", payload = $"{i}" })));

    private static Task<HttpResponseMessage> InitializeRawAsync(BusHost host) =>
        host.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");

    private static async Task<HttpResponseMessage> OpenRestStreamAsync(BusHost host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }

    private static async Task<HttpResponseMessage> OpenMcpStreamAsync(BusHost host, string session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, host.McpUri);
        request.Headers.Add("Mcp-Session-Id", session);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }

    private static async Task<string> ReadTextAsync(Stream body, string marker)
    {
        var text = new StringBuilder();
        var buffer = new byte[1024];
        while (!text.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var read = await body.ReadAsync(buffer, TestTimeouts.Token());
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    private static async Task ShouldBeJsonRpcRefusalAsync(HttpResponseMessage response, string limit, int? retryAfter, params string[] says)
    {
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        CheckRetryAfter(response, retryAfter);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        error.GetProperty("code").GetInt32().Should().Be(-32000);
        error.GetProperty("data").GetProperty("limit").GetString().Should().Be(limit);
        var message = error.GetProperty("message").GetString()!;
        foreach (var phrase in says)
        {
            message.Should().Contain(phrase);
        }

        if (retryAfter is { } seconds)
        {
            error.GetProperty("data").GetProperty("retry_after_seconds").GetInt32().Should().Be(seconds);
            message.Should().Contain($"Retry after {seconds} s");
        }
    }

    private static async Task<string> ShouldBeProblemRefusalAsync(HttpResponseMessage response, string limit, int? retryAfter)
    {
        var body = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.TooManyRequests);
        var problem = JsonDocument.Parse(body).RootElement;
        problem.GetProperty("limit").GetString().Should().Be(limit);
        CheckRetryAfter(response, retryAfter);
        if (retryAfter is { } seconds)
        {
            problem.GetProperty("retry_after_seconds").GetInt32().Should().Be(seconds);
        }

        return detail;
    }

    private static void CheckRetryAfter(HttpResponseMessage response, int? seconds)
    {
        if (seconds is null)
        {
            response.Headers.RetryAfter.Should().BeNull();
        }
        else
        {
            response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(seconds.Value));
        }
    }
}
