using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EventBus.Server.Tests.Api;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Input;

/// <summary>
/// Malformed input on the REST API and ingest: bytes that are not UTF-8 and unpaired surrogate escapes
/// (<c>"\ud800"</c>) get a 400 problem that says where, and nothing is stored (no U+FFFD in place of what was sent).
/// </summary>
public sealed class RestMalformedInputTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("""{"event_type":"x","payload":"a\ud800"}""", "payload")]
    [InlineData("""{"event_type":"\udfff","payload":"p"}""", "event_type")]
    [InlineData("""{"event_type":"x","payload":"p","channel":"c\ud800"}""", "channel")]
    [InlineData("""{"event_type":"x","payload":"p","title":"\ud800\ud800"}""", "title")]
    [InlineData("""{"event_type":"x","payload":"p","correlation_id":"\ud800"}""", "correlation_id")]
    [InlineData("""{"event_type":"x","payload":"p","tags":["a","\ud800"]}""", "tags")]
    [InlineData("""{"event_type":"x","payload":"p","\ud800":1}""", "a field name")]
    public async Task Publish_WithAnUnpairedSurrogateInAField_IsAProblemNamingTheField_AndStoresNothing(string body, string field)
    {
        using var response = await _host.PostApiAsync("/api/v1/events", body);

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().StartWith(field).And.Contain("unpaired surrogate");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Publish_WithBytesThatAreNotUtf8_IsAProblemSayingWhere()
    {
        var prefix = """{"event_type":"x","payload":"caf""";
        using var response = await PostApiBytesAsync("/api/v1/events", Bytes(prefix, [0xC3, 0x28], "\"}"), "application/json");

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().Contain($"the body is not valid UTF-8 (at byte {Encoding.UTF8.GetByteCount(prefix)})");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Theory]
    [InlineData("application/json", "[{\"event_type\":\"x\",\"payload\":\"")]
    [InlineData("application/x-ndjson", "{\"event_type\":\"x\",\"payload\":\"ok\"}\n{\"event_type\":\"x\",\"payload\":\"")]
    public async Task Batch_WithBytesThatAreNotUtf8_IsRefused_NotStoredAsReplacementCharacters(string contentType, string prefix)
    {
        var suffix = contentType == "application/json" ? "\"}]" : "\"}\n";
        using var response = await PostApiBytesAsync("/api/v1/events:batch", Bytes(prefix, [0xED, 0xA0, 0x80], suffix), contentType);

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().Contain($"the body is not valid UTF-8 (at byte {Encoding.UTF8.GetByteCount(prefix)})");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_WithAnUnpairedSurrogate_NamesTheItemLineAndField_AndStoresNothing()
    {
        using var response = await _host.PostApiAsync(
            "/api/v1/events:batch", "{\"event_type\":\"a\",\"payload\":\"1\"}\n{\"event_type\":\"b\",\"payload\":\"\\ud800\"}\n", "application/x-ndjson");

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().StartWith("item 1 (line 2): payload").And.Contain("unpaired surrogate");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Publish_WithAUtf8ByteOrderMark_IsStillAccepted()
    {
        using var response = await PostApiBytesAsync(
            "/api/v1/events", [0xEF, 0xBB, 0xBF, .. """{"event_type":"bom","payload":"p"}"""u8], "application/json");

        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ingest_WithBytesThatAreNotUtf8_IsRefused_NotStoredAsReplacementCharacters()
    {
        var prefix = """{"title":"disk""";
        using var response = await PostApiBytesAsync("/api/v1/ingest/alerts:test", Bytes(prefix, [0xFE], "\"}"), "application/json");

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().Contain($"the body is not valid UTF-8 (at byte {Encoding.UTF8.GetByteCount(prefix)})");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Ingest_WithAnUnpairedSurrogateInTheJson_IsRefusedNamingWhere()
    {
        using var response = await _host.PostApiAsync(
            "/api/v1/ingest/alerts:test", """{"status":"firing","alerts":[{"labels":{"alertname":"Disk\ud800"}}]}""");

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().Contain("$.alerts[0].labels.alertname").And.Contain("unpaired surrogate");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    private static byte[] Bytes(string prefix, byte[] bad, string suffix) =>
        [.. Encoding.UTF8.GetBytes(prefix), .. bad, .. Encoding.UTF8.GetBytes(suffix)];

    private Task<HttpResponseMessage> PostApiBytesAsync(string path, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return _host.Http.PostAsync(path, content, TestTimeouts.Token());
    }
}
