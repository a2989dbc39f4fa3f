using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Tests.Security;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Ingest;

/// <summary>
/// Ingest once access tokens exist (issue 10, item 3): behind <c>tailscale serve</c> every peer arrives from loopback,
/// so loopback alone proves nothing; and a direct message into an agent's session needs a credential that may write it.
/// </summary>
public sealed class IngestUnderTokensTests
{
    private const string SourceToken = "ingest-token-0123456789abcdef";
    private const string DmSourceToken = "dm-source-token-0123456789ab";
    private const string Alert = """{"status":"firing","alerts":[{"labels":{"alertname":"DiskFull"}}]}""";

    private static readonly string[] Sources =
    [
        "--EventBus:Ingest:Sources:ci:Token=" + SourceToken,
        "--EventBus:Ingest:Sources:pager:Token=" + DmSourceToken,
        "--EventBus:Ingest:Sources:pager:Channels:0=session:#",
        "--EventBus:Ingest:Sources:lan:Unauthenticated=true",
        "--EventBus:Ingest:Sources:lan:Channels:0=sensors:#",
    ];

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(BusHost host, string channel, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/ingest/" + channel)
        {
            Content = new StringContent(Alert, Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await host.Http.SendAsync(request, TestTimeouts.Token());
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        text.Should().NotBeEmpty("every answer has a body");
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task OnceATokenExists_IngestWithoutCredentials_IsRefused_OnLoopbackToo()
    {
        await using var host = await BusHost.StartAsync(false, Sources);
        (await PostAsync(host, "alerts:prod")).Status.Should().Be(HttpStatusCode.Created, "before the first token, loopback is this machine");

        await host.CreateTokenAsync("ops", TokenScope.Admin);

        foreach (var channel in new[] { "alerts:prod", "session:0b9d7f3e-victim" })
        {
            var (status, problem) = await PostAsync(host, channel);
            status.Should().Be(HttpStatusCode.Unauthorized, channel);
            problem.Str("detail").Should().Contain("This bus has access tokens, so ingest without credentials is refused, on loopback too");
        }

        (await PostAsync(host, "alerts:prod", SourceToken)).Status.Should().Be(HttpStatusCode.Created, "a source's own token still works");
    }

    [Fact]
    public async Task ASourceMayTakeUnauthenticatedRequests_OnlyOnTheChannelsItLists_AndNeverDirectMessages()
    {
        await using var host = await BusHost.StartAsync(false, Sources);
        await host.CreateTokenAsync("ops", TokenScope.Admin);

        var (ok, reply) = await PostAsync(host, "sensors:boiler");
        ok.Should().Be(HttpStatusCode.Created);
        reply.Str("source").Should().Be("lan");
        (await PostAsync(host, "alerts:prod")).Status.Should().Be(HttpStatusCode.Unauthorized, "not one of lan's channels");
    }

    [Fact]
    public async Task IngestIntoASessionChannel_NeedsACredentialThatMayWriteThere()
    {
        await using var host = await BusHost.StartAsync(false, Sources);
        var reader = await host.CreateTokenAsync("dashboard", TokenScope.Read);
        var publisher = await host.CreateTokenAsync("ci-bot", TokenScope.Publish);
        const string dm = "session:0b9d7f3e-victim";

        var (forbidden, problem) = await PostAsync(host, dm, SourceToken);
        forbidden.Should().Be(HttpStatusCode.Forbidden, "a source that lists no channels may publish anywhere but direct messages");
        problem.Str("detail").Should().Be(
            "Ingest source \"ci\" may not publish direct messages (channel \"session:0b9d7f3e-victim\"): list a session:… pattern in its " +
            "Channels (EventBus:Ingest:Sources:ci:Channels), or send an access token with the publish scope.");

        (await PostAsync(host, dm, DmSourceToken)).Status.Should().Be(HttpStatusCode.Created, "pager lists session:#");

        var (byToken, reply) = await PostAsync(host, dm, publisher);
        byToken.Should().Be(HttpStatusCode.Created);
        reply.Str("source").Should().Be("token:ci-bot", "an access token that may publish may ingest, and is named as the source");

        var (readOnly, refused) = await PostAsync(host, dm, reader);
        readOnly.Should().Be(HttpStatusCode.Forbidden);
        refused.Str("detail").Should().Be("Forbidden: ingest publishes, so it needs a token with the publish scope; token \"dashboard\" (scope read) may only read.");
    }

    [Theory]
    [InlineData("%20", "channel must not be blank.")]
    [InlineData("%09", "channel must not be blank.")]
    [InlineData("alerts%1Bprod", "channel must not contain control characters (got \"alerts?prod\").")]
    public async Task ABlankOrControlCharacterChannel_IsRefused_BeforeAnythingIsStored(string channel, string detail)
    {
        await using var host = await BusHost.StartAsync();
        var (status, problem) = await PostAsync(host, channel);
        status.Should().Be(HttpStatusCode.BadRequest);
        problem.Str("detail").Should().Be(detail);
    }

    [Fact]
    public async Task AnUnauthenticatedSource_WithoutChannels_StopsTheStart()
    {
        var act = () => BusHost.StartAsync(false, "--EventBus:Ingest:Sources:open:Unauthenticated=true");
        (await act.Should().ThrowAsync<Exception>())
            .WithMessage("*EventBus:Ingest:Sources:open takes requests without credentials, so it must list the Channels it may publish to*");
    }
}
