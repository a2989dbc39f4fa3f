using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Api;

/// <summary>Plain HTTP calls to /api/v1, and the checks every problem-details answer must pass.</summary>
internal static class ApiCalls
{
    public static async Task<HttpResponseMessage> PostApiAsync(this BusHost host, string path, string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await host.Http.PostAsync(path, content, TestTimeouts.Token());
    }

    /// <summary>Publishes one event that must be accepted; returns its id.</summary>
    public static async Task<long> PublishAsync(this BusHost host, string eventType, string channel = "all")
    {
        using var response = await host.PostApiAsync(
            "/api/v1/events", JsonSerializer.Serialize(new { event_type = eventType, payload = $"{eventType} payload", channel }));
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await JsonAsync(response)).GetProperty("event_id").GetInt64();
    }

    public static async Task<JsonElement> GetJsonAsync(this BusHost host, string path)
    {
        using var response = await host.Http.GetAsync(path, TestTimeouts.Token());
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await JsonAsync(response);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestTimeouts.Token())).RootElement.Clone();

    /// <summary>Asserts an RFC 9457 problem with this status, and returns its <c>detail</c>.</summary>
    public static async Task<string> ProblemDetailAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(text).RootElement;
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("title").GetString().Should().NotBeNullOrEmpty();
        return problem.GetProperty("detail").GetString()!;
    }

    /// <summary>The ids of every stored event, oldest first.</summary>
    public static async Task<List<long>> StoredIdsAsync(this BusHost host)
    {
        var page = await host.GetJsonAsync("/api/v1/events?cursor=0&limit=1000&order=asc");
        return page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToList();
    }
}
