using System.Net;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Dashboard;

/// <summary>The dashboard's files at / and /dashboard/, served from the assembly; the new API paths in the OpenAPI document.</summary>
public sealed class DashboardTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Root_IsThePage_WithAPolicyThatAllowsOnlyThisBus()
    {
        using var response = await _host.Http.GetAsync("/", TestTimeouts.Token());

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await response.Content.ReadAsStringAsync()).Should().Contain("/dashboard/js/app.js");
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        policy.Should().Contain("script-src 'self'").And.Contain("connect-src 'self'").And.Contain("frame-ancestors 'none'");
    }

    [Theory]
    [InlineData("/dashboard/js/app.js", "text/javascript")]
    [InlineData("/dashboard/js/views/stream.js", "text/javascript")]
    [InlineData("/dashboard/app.css", "text/css")]
    public async Task Assets_AreServedWithTheirTypes_AndRevalidatedByETag(string path, string type)
    {
        using var response = await _host.Http.GetAsync(path, TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be(type);

        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var revalidated = await _host.Http.SendAsync(again, TestTimeouts.Token());
        revalidated.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }

    [Fact]
    public async Task AnUnknownAsset_Is404()
    {
        using var response = await _host.Http.GetAsync("/dashboard/nope.js", TestTimeouts.Token());

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ThePage_IsPublic_UnderTokens_ButTheApiItCallsIsNot()
    {
        await EventBus.Server.Tests.Security.TokenClients.CreateTokenAsync(_host, "watcher", EventBus.Core.Security.TokenScope.Read);

        using var page = await _host.Http.GetAsync("/", TestTimeouts.Token());
        using var me = await _host.Http.GetAsync("/api/v1/me", TestTimeouts.Token());

        page.StatusCode.Should().Be(HttpStatusCode.OK);
        me.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ASameOriginCall_IsAllowedFromAHostNameTheBusServes()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.Host = $"localhost:{_host.BaseUri.Port}";
        request.Headers.Add("Origin", $"http://localhost:{_host.BaseUri.Port}");

        using var response = await _host.Http.SendAsync(request, TestTimeouts.Token());

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OpenApiDocument_ListsTheDashboardsApiPaths_NotThePage()
    {
        var paths = (await _host.GetJsonAsync("/openapi/v1.json")).GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        paths.Should().Contain([
            "/api/v1/sessions", "/api/v1/sessions/{sessionId}", "/api/v1/channels", "/api/v1/webhooks",
            "/api/v1/webhooks/{webhookId}/active", "/api/v1/deliveries", "/api/v1/deliveries/{deliveryId}/redeliver",
            "/api/v1/me", "/api/v1/tokens", "/api/v1/health",
        ]);
        paths.Should().NotContain("/").And.NotContain(p => p.StartsWith("/dashboard", StringComparison.Ordinal));
    }
}
