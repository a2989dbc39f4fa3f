using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Server.Mcp;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Input;

/// <summary>
/// Malformed input on /mcp: bytes that are not UTF-8, an unpaired surrogate escape (<c>"\ud800"</c>) anywhere, and
/// JSON-RPC params of the wrong shape each get a 400 JSON-RPC error (or, for a tool argument, a tool error) that says
/// what was wrong, and nothing is stored. Invalid text is refused, never repaired.
/// </summary>
public sealed class McpMalformedInputTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("publish_event", """{"event_type":"x","payload":"a\ud800b"}""", "\"payload\"")]
    [InlineData("publish_event", """{"event_type":"x","payload":"p","tags":["ok","\udc00"]}""", "\"tags[1]\"")]
    [InlineData("publish_event", """{"event_type":"x\ud83d","payload":"p"}""", "\"event_type\"")]
    [InlineData("register_session", """{"name":"n","cwd":"/tmp/\ud800"}""", "\"cwd\"")]
    [InlineData("get_events", """{"cursor":"\ud800"}""", "\"cursor\"")]
    public async Task ToolsCall_WithAnUnpairedSurrogateInAnArgument_IsAToolErrorNamingTheArgument(string tool, string arguments, string named)
    {
        using var response = await _host.PostAsync(
            $$$"""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{arguments}}}}}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result");
        result.GetProperty("isError").GetBoolean().Should().BeTrue();
        var text = result.GetProperty("content")[0].Str("text");
        text.Should().StartWith(tool + ":").And.Contain(named).And.Contain("unpaired surrogate");
        result.GetProperty("structuredContent").GetProperty("result").Str("error").Should().Be(text);
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task McpPost_WithBytesThatAreNotUtf8_IsA400ParseErrorSayingWhere_AndStoresNothing()
    {
        var prefix = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"publish_event","arguments":{"event_type":"x","payload":"a""";
        using var response = await PostMcpBytesAsync(Bytes(prefix, [0xFF], "b\"}}}"));

        var error = await McpErrorAsync(response, HttpStatusCode.BadRequest, JsonRpcReplies.ParseError);
        error.Should().Contain($"the body is not valid UTF-8 (at byte {Encoding.UTF8.GetByteCount(prefix)})");
        (await _host.StoredIdsAsync()).Should().BeEmpty("a replacement character must not be stored in place of the bad byte");
    }

    [Fact]
    public async Task Initialize_WithANumberForProtocolVersion_IsInvalidParamsNamingTheField_AndOpensNoSession()
    {
        using var response = await _host.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":5,"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");

        var error = await McpErrorAsync(response, HttpStatusCode.BadRequest, -32602, expectedId: 1);
        error.Should().Contain("initialize").And.Contain("protocolVersion");
        error.Should().NotContain("An error occurred");
        _host.Service<McpSessionStore>().Count.Should().Be(0);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}""", "tools/list", "params must be an object (got a string)")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}""", "ping", "params must be an object (got an array)")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":7}""", "tools/call", "params must be an object (got a number)")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}""", "initialize", "params is missing required properties: 'protocolVersion'")]
    [InlineData(
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"version":"1"}}}""",
        "initialize", "params.clientInfo is missing required properties: 'name'")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":5}}""", "tools/list", "cursor")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":5}}""", "resources/read", "uri")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"loud"}}""", "logging/setLevel", "level")]
    [InlineData(
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"\ud800","version":"1"}}}""",
        "initialize", "params.clientInfo.name contains an unpaired surrogate")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud800"}}""", "tools/call", "params.name contains an unpaired surrogate")]
    [InlineData(
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"publish_event","arguments":{"event_type":"x","payload":"p","\ud800":"v"}}}""",
        "tools/call", "a property name in params.arguments contains an unpaired surrogate")]
    public async Task Request_WithMalformedParams_IsInvalidParamsSayingWhichMethodAndWhat(string body, string method, string expected)
    {
        using var response = await _host.PostAsync(body);

        var error = await McpErrorAsync(response, HttpStatusCode.BadRequest, -32602, expectedId: 1);
        error.Should().StartWith($"Invalid params for {method}: ").And.Contain(expected);
    }

    [Fact]
    public async Task Notification_WithMalformedParams_Is400WithAnErrorThatHasNoId()
    {
        var session = await _host.InitializeAsync();
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":"x"}""", session);

        var error = await McpErrorAsync(response, HttpStatusCode.BadRequest, -32602);
        error.Should().Contain("notifications/cancelled").And.Contain("params must be an object");
    }

    [Fact]
    public async Task Request_WithAnUnpairedSurrogateInTheMethod_IsAnInvalidRequest()
    {
        using var response = await _host.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/\ud800"}""");

        var error = await McpErrorAsync(response, HttpStatusCode.BadRequest, JsonRpcReplies.InvalidRequest);
        error.Should().Contain("method contains an unpaired surrogate");
    }

    private static byte[] Bytes(string prefix, byte[] bad, string suffix) =>
        [.. Encoding.UTF8.GetBytes(prefix), .. bad, .. Encoding.UTF8.GetBytes(suffix)];

    private Task<HttpResponseMessage> PostMcpBytesAsync(byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _host.McpUri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return _host.Http.SendAsync(request, TestTimeouts.Token());
    }

    /// <summary>Asserts a plain-JSON JSON-RPC error with this HTTP status and code; returns its message.</summary>
    private static async Task<string> McpErrorAsync(HttpResponseMessage response, HttpStatusCode status, int code, int? expectedId = null)
    {
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        var body = JsonDocument.Parse(text).RootElement;
        body.Str("jsonrpc").Should().Be("2.0");
        if (expectedId is { } id)
        {
            body.GetProperty("id").GetInt32().Should().Be(id);
        }

        var error = body.GetProperty("error");
        error.GetProperty("code").GetInt32().Should().Be(code, text);
        return error.Str("message");
    }
}
