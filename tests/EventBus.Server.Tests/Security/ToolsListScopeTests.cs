using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EventBus.Core.Security;
using EventBus.Server.Tests.Support;
using EventBus.Server.Tools;

namespace EventBus.Server.Tests.Security;

/// <summary>tools/list shows a caller exactly the tools its token may call (issue 13 §4).</summary>
public sealed class ToolsListScopeTests : IAsyncLifetime
{
    private static readonly string[] PublishTools = ["publish_event", "notify"];
    private static readonly string[] WebhookTools =
        ["register_webhook", "list_webhooks", "set_webhook_active", "unregister_webhook", "list_deliveries", "redeliver"];

    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData(TokenScope.Read)]
    [InlineData(TokenScope.Publish)]
    [InlineData(TokenScope.Admin)]
    public async Task ToolsList_IsExactlyTheToolsThatToolsCallServes_ForEachScope(TokenScope? scope)
    {
        // Every tool the server has; a token (once one exists) is what tools/call is asked with.
        var all = _host.Service<ToolRegistry>().All.Select(t => t.Name).ToList();
        var secret = scope is { } s ? await _host.CreateTokenAsync("t-" + s, s) : null;

        var listed = await ListAsync(secret);
        var callable = new List<string>();
        foreach (var tool in all)
        {
            // Empty arguments: a tool the token may call answers (usually a tool error about its arguments), one it
            // may not is refused with 403 before it runs.
            using var response = await _host.PostAsync(
                JsonSerializer.Serialize(new { jsonrpc = "2.0", id = 1, method = "tools/call", @params = new { name = tool, arguments = new { } } }),
                adjust: Bearer(secret));
            if (response.StatusCode != HttpStatusCode.Forbidden)
            {
                response.StatusCode.Should().Be(HttpStatusCode.OK, tool);
                callable.Add(tool);
            }
        }

        listed.Should().BeEquivalentTo(callable, "tools/list must offer exactly what tools/call serves");
        if (scope == TokenScope.Read)
        {
            listed.Should().NotContain(PublishTools).And.NotContain(WebhookTools).And.Contain(["get_events", "register_session"]);
        }
        else if (scope == TokenScope.Publish)
        {
            listed.Should().Contain(PublishTools).And.NotContain(WebhookTools);
        }
        else
        {
            listed.Should().Contain(PublishTools).And.Contain(WebhookTools);
        }
    }

    [Fact]
    public async Task TheSdkClient_ListsOnlyWhatItsReadTokenMayCall()
    {
        var (client, _) = await _host.ConnectWithTokenAsync("reader", TokenScope.Read);
        var tools = await client.ListToolsAsync(cancellationToken: TestTimeouts.Token());
        tools.Select(t => t.Name).Should().Contain("get_events").And.NotContain(PublishTools).And.NotContain(WebhookTools);
        tools.Single(t => t.Name == "get_events").ProtocolTool.InputSchema.GetProperty("properties").TryGetProperty("cursor", out _).Should().BeTrue();
    }

    private async Task<List<string>> ListAsync(string? secret)
    {
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", adjust: Bearer(secret));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result");
        return [.. result.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
    }

    private static Action<HttpRequestMessage>? Bearer(string? secret) =>
        secret is null ? null : r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
}
