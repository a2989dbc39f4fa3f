using System.Net;
using System.Text;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Api;

/// <summary>POST/GET /api/v1/events, the batch endpoint and the OpenAPI document, over the real host.</summary>
public sealed class RestApiTests : IAsyncLifetime
{
    private BusHost _host = null!;

    public async Task InitializeAsync() => _host = await BusHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AForeignHost_IsRefusedWithProblemDetails_UnderTheApi()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events");
        request.Headers.Host = "rebind.attacker.test";
        using var response = await _host.Http.SendAsync(request);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Forbidden);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain("rebind.attacker.test");
    }

    [Fact]
    public async Task Publish_Returns201WithThePublishReply_AndTheLocationReadsTheEventBack()
    {
        using var response = await _host.PostApiAsync("/api/v1/events", """
            {"event_type":"task_completed","payload":"built it","channel":"repo:eventbus","title":"Done",
             "tags":["a","b"],"correlation_id":"thread-1","signal_level":"actionable"}
            """);

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var reply = await ApiCalls.JsonAsync(response);
        var id = reply.GetProperty("event_id").GetInt64();
        id.Should().BePositive();
        reply.GetProperty("event_type").GetString().Should().Be("task_completed");
        reply.GetProperty("payload").GetString().Should().Be("built it");
        reply.GetProperty("channel").GetString().Should().Be("repo:eventbus");
        reply.GetProperty("signal_level").GetString().Should().Be("actionable");
        reply.GetProperty("correlation_id").GetString().Should().Be("thread-1");
        reply.TryGetProperty("session_deleted", out _).Should().BeFalse();

        var location = response.Headers.Location!.ToString();
        location.Should().Be($"/api/v1/events?cursor={id - 1}&limit=1");
        var page = await _host.GetJsonAsync(location);
        var stored = page.GetProperty("events").EnumerateArray().Single();
        stored.GetProperty("id").GetInt64().Should().Be(id);
        stored.GetProperty("title").GetString().Should().Be("Done");
        stored.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Should().Equal("a", "b");
        stored.GetProperty("session_id").GetString().Should().Be("anonymous");
    }

    [Theory]
    [InlineData("""{"payload":"p"}""", "event_type is required")]
    [InlineData("""{"event_type":"x"}""", "payload is required")]
    [InlineData("""{"event_type":"x","payload":5}""", "payload must be a string (got a number)")]
    [InlineData("""{"event_type":"x","payload":"p","channel":""}""", "channel must not be empty")]
    [InlineData("""{"event_type":"x","payload":"p","signal_level":"loud"}""", "signal_level must be one of")]
    [InlineData("""{"event_type":"x","payload":"p","tags":"one"}""", "tags must be an array of strings")]
    [InlineData("""{"event_type":"x","payload":"p","colour":"red"}""", "unknown field \"colour\"")]
    [InlineData("""["not","an","object"]""", "expected a JSON object")]
    [InlineData("""{"event_type":"x","payload":""", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    public async Task Publish_WithBadInput_IsAProblemThatSaysWhatIsWrong_AndStoresNothing(string body, string expected)
    {
        using var response = await _host.PostApiAsync("/api/v1/events", body);

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain(expected);
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Publish_WithAPayloadOverTheLimit_IsAProblemNamingTheLimit()
    {
        var body = JsonSerializer.Serialize(new { event_type = "big", payload = new string('x', 65_537) });

        using var response = await _host.PostApiAsync("/api/v1/events", body);

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest))
            .Should().Be("payload is 65537 bytes; the limit is 65536 bytes (EventBus:MaxPayloadBytes).");
    }

    [Fact]
    public async Task Publish_WithABodyOverTheRequestLimit_Is413ProblemDetails()
    {
        var body = JsonSerializer.Serialize(new { event_type = "huge", payload = new string('x', 1_100_000) });

        using var response = await _host.PostApiAsync("/api/v1/events", body);

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.RequestEntityTooLarge)).Should().Contain("EventBus:MaxRequestBodyBytes");
    }

    [Fact]
    public async Task Publish_WithAFormContentType_Is415ProblemDetailsNamingTheRightType()
    {
        using var response = await _host.PostApiAsync("/api/v1/events", """{"event_type":"x","payload":"p"}""", "application/x-www-form-urlencoded");

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.UnsupportedMediaType)).Should().Contain("Content-Type: application/json");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_AsAJsonArray_StoresAllWithConsecutiveIds_InOrder()
    {
        var first = await _host.PublishAsync("before");
        using var response = await _host.PostApiAsync("/api/v1/events:batch", """
            [{"event_type":"one","payload":"1"},{"event_type":"two","payload":"2","channel":"repo:x"},{"event_type":"three","payload":"3"}]
            """);

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var reply = await ApiCalls.JsonAsync(response);
        reply.GetProperty("count").GetInt32().Should().Be(3);
        var events = reply.GetProperty("events").EnumerateArray().ToList();
        events.Select(e => e.GetProperty("event_id").GetInt64()).Should().Equal(first + 1, first + 2, first + 3);
        events.Select(e => e.GetProperty("event_type").GetString()).Should().Equal("one", "two", "three");
        events[1].GetProperty("channel").GetString().Should().Be("repo:x");
        (await _host.StoredIdsAsync()).Should().Equal(first, first + 1, first + 2, first + 3);
    }

    [Fact]
    public async Task Batch_AsNdjson_IgnoresBlankLines_AndStaysContiguousWhileOthersPublish()
    {
        var lines = string.Join("\n", Enumerable.Range(0, 200).Select(i => $$"""{"event_type":"line","payload":"{{i}}"}""")) + "\n\n";
        var others = Enumerable.Range(0, 20).Select(_ => _host.PublishAsync("other")).ToList();

        using var response = await _host.PostApiAsync("/api/v1/events:batch", lines.Replace("\n{", "\n\n{", StringComparison.Ordinal), "application/x-ndjson");
        await Task.WhenAll(others);

        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var reply = await ApiCalls.JsonAsync(response);
        reply.GetProperty("count").GetInt32().Should().Be(200);
        var ids = reply.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_id").GetInt64()).ToList();
        ids.Should().Equal(Enumerable.Range(0, 200).Select(i => ids[0] + i), "one transaction gives consecutive ids");
        var payloads = reply.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("payload").GetString());
        payloads.Should().Equal(Enumerable.Range(0, 200).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        (await _host.StoredIdsAsync()).Should().HaveCount(220);
    }

    [Fact]
    public async Task Batch_WithOneBadItem_StoresNothing_AndNamesTheItem()
    {
        using var response = await _host.PostApiAsync("/api/v1/events:batch", """
            [{"event_type":"ok","payload":"1"},{"event_type":"ok","payload":"2"},{"event_type":"ok","payload":"3","signal_level":"loud"}]
            """);

        var detail = await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest);
        detail.Should().StartWith("item 2: signal_level must be one of");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Theory]
    [InlineData("{\"event_type\":\"a\",\"payload\":\"1\"}\n\n{\"event_type\":\"\",\"payload\":\"2\"}\n", "item 1 (line 3): event_type must not be empty.")]
    [InlineData("{\"event_type\":\"a\",\"payload\":\"1\"}\n{\"event_type\":\n", "NDJSON line 2 is not valid JSON")]
    [InlineData("\n\n", "The batch is empty")]
    public async Task Batch_WithABadNdjsonLine_StoresNothing_AndNamesTheLine(string body, string expected)
    {
        using var response = await _host.PostApiAsync("/api/v1/events:batch", body, "application/x-ndjson");

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain(expected);
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_OverTheCap_IsRefusedSayingTheCap()
    {
        var items = string.Join(",", Enumerable.Repeat("""{"event_type":"a","payload":""}""", 1001));

        using var response = await _host.PostApiAsync("/api/v1/events:batch", $"[{items}]");

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Be("A batch holds at most 1000 events (got 1001); split it.");
        (await _host.StoredIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_ThatIsNotAnArray_IsAProblem()
    {
        using var response = await _host.PostApiAsync("/api/v1/events:batch", """{"event_type":"a","payload":"1"}""");

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain("A batch is a JSON array");
    }

    [Fact]
    public async Task GetEvents_PagesWithCursorAndHasMore_AndFiltersByChannel()
    {
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await _host.PublishAsync($"e{i}", i % 2 == 0 ? "repo:a" : "all"));
        }

        var first = await _host.GetJsonAsync("/api/v1/events?cursor=0&limit=2&order=asc");
        Ids(first).Should().Equal(ids[0], ids[1]);
        first.GetProperty("has_more").GetBoolean().Should().BeTrue();
        first.GetProperty("next_cursor").GetString().Should().Be(ids[1].ToString(System.Globalization.CultureInfo.InvariantCulture));

        var second = await _host.GetJsonAsync($"/api/v1/events?cursor={first.GetProperty("next_cursor").GetString()}&limit=2&order=desc");
        Ids(second).Should().Equal(ids[3], ids[2]);
        second.GetProperty("has_more").GetBoolean().Should().BeTrue();

        var last = await _host.GetJsonAsync($"/api/v1/events?cursor={second.GetProperty("next_cursor").GetString()}&limit=2");
        Ids(last).Should().Equal(ids[4]);
        last.GetProperty("has_more").GetBoolean().Should().BeFalse();
        last.GetProperty("next_cursor").GetString().Should().Be(ids[4].ToString(System.Globalization.CultureInfo.InvariantCulture));

        var newest = await _host.GetJsonAsync("/api/v1/events?limit=2");
        Ids(newest).Should().Equal(ids[4], ids[3]);

        var channel = await _host.GetJsonAsync("/api/v1/events?cursor=0&channel=repo:a&order=asc");
        Ids(channel).Should().Equal(ids[0], ids[2], ids[4]);
        channel.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("channel").GetString()).Should().AllBe("repo:a");
    }

    [Theory]
    [InlineData("cursor=abc", "cursor must be the decimal string of an event id")]
    [InlineData("cursor=-1", "cursor must be the decimal string of an event id")]
    [InlineData("limit=0", "limit must be between 1 and 1000 (got 0)")]
    [InlineData("limit=1001", "limit must be between 1 and 1000 (got 1001)")]
    [InlineData("limit=ten", "limit must be an integer between 1 and 1000")]
    [InlineData("order=sideways", "order must be \"asc\" or \"desc\"")]
    [InlineData("channel=", "channel must not be empty")]
    public async Task GetEvents_WithBadQuery_IsAProblemThatSaysWhatIsWrong(string query, string expected)
    {
        using var response = await _host.Http.GetAsync($"/api/v1/events?{query}", TestTimeouts.Token());

        (await ApiCalls.ProblemDetailAsync(response, HttpStatusCode.BadRequest)).Should().Contain(expected);
    }

    [Fact]
    public async Task OpenApiDocument_IsValidJson_ListingTheApiPathsWithNamesAndNotMcp()
    {
        var document = await _host.GetJsonAsync("/openapi/v1.json");

        document.GetProperty("openapi").GetString().Should().StartWith("3.");
        var paths = document.GetProperty("paths");
        var names = paths.EnumerateObject().Select(p => p.Name).ToList();
        names.Should().Contain(["/api/v1/events", "/api/v1/events:batch", "/api/v1/stream"]);
        names.Should().NotContain("/mcp");
        var publish = paths.GetProperty("/api/v1/events").GetProperty("post");
        publish.GetProperty("operationId").GetString().Should().Be("PublishEvent");
        publish.GetProperty("summary").GetString().Should().Be("Publish one event");
        publish.GetProperty("responses").EnumerateObject().Select(r => r.Name).Should().Contain(["201", "400"]);
        paths.GetProperty("/api/v1/stream").GetProperty("get").GetProperty("responses").GetProperty("200")
            .GetProperty("content").TryGetProperty("text/event-stream", out _).Should().BeTrue();
    }

    private static IEnumerable<long> Ids(JsonElement page) =>
        page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64());
}
