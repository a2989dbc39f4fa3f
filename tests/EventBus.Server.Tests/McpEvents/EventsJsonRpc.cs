using System.Net.Http.Headers;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.McpEvents;

/// <summary>Raw JSON-RPC for the Events extension: what a client with no SDK support for it sends.</summary>
internal static class EventsJsonRpc
{
    /// <summary>POSTs one request and returns its response message (JSON or the first SSE data line).</summary>
    public static async Task<JsonElement> RequestAsync(BusHost host, string method, object? parameters, string? token = null, string? session = null)
    {
        var body = JsonSerializer.Serialize(new { jsonrpc = "2.0", id = 1, method, @params = parameters });
        using var response = await host.PostAsync(body, session, Bearer(token));
        response.IsSuccessStatusCode.Should().BeTrue(await response.Content.ReadAsStringAsync());
        var text = await response.Content.ReadAsStringAsync(TestTimeouts.Token());
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            text = text.Split('\n').First(l => l.StartsWith("data:", StringComparison.Ordinal) && l.Length > 6)["data:".Length..];
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> ResultAsync(BusHost host, string method, object? parameters, string? token = null)
    {
        var message = await RequestAsync(host, method, parameters, token);
        message.TryGetProperty("error", out var error).Should().BeFalse(error.ToString());
        return message.GetProperty("result");
    }

    public static async Task<JsonElement> ErrorAsync(BusHost host, string method, object? parameters, string? token = null)
    {
        var message = await RequestAsync(host, method, parameters, token);
        message.TryGetProperty("result", out _).Should().BeFalse($"{method} should be refused, but answered {message}");
        return message.GetProperty("error");
    }

    public static Action<HttpRequestMessage>? Bearer(string? token) =>
        token is null ? null : r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

    /// <summary>Registers a session with <paramref name="token"/> (a session-less tools/call); returns its id.</summary>
    public static async Task<string> RegisterAsync(BusHost host, string token, string name)
    {
        var body = JsonSerializer.Serialize(new
        {
            jsonrpc = "2.0",
            id = 1,
            method = "tools/call",
            @params = new { name = "register_session", arguments = new { name, machine = "m" } },
        });
        using var response = await host.PostAsync(body, adjust: Bearer(token));
        return (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("structuredContent").GetProperty("result").Str("session_id");
    }

    /// <summary>The events get_events returns after <paramref name="cursor"/>, oldest first, as the tool shows them.</summary>
    public static async Task<List<JsonElement>> GetEventsAsync(BusHost host, string cursor, string? channel = null, string? token = null)
    {
        var arguments = channel is null
            ? JsonSerializer.Serialize(new { cursor, order = "asc", limit = 1000 })
            : JsonSerializer.Serialize(new { cursor, order = "asc", limit = 1000, channel });
        using var response = await host.PostAsync(
            $$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_events","arguments":{{{arguments}}}}}""", adjust: Bearer(token));
        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result").GetProperty("structuredContent").GetProperty("result");
        return [.. result.GetProperty("events").EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>Publishes one event with a session-less tools/call; returns its id.</summary>
    public static async Task<long> PublishAsync(BusHost host, string channel, string type, string payload, string? level = null, string? token = null, string? session = null)
    {
        var arguments = JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["channel"] = channel,
            ["event_type"] = type,
            ["payload"] = payload,
            ["signal_level"] = level,
            ["session_id"] = session,
        }.Where(p => p.Value is not null).ToDictionary());
        using var response = await host.PostAsync(
            $$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"publish_event","arguments":{{{arguments}}}}}""", adjust: Bearer(token));
        var result = (await BusHost.FirstDataAsync(response)).GetProperty("result");
        result.TryGetProperty("isError", out _).Should().BeFalse(result.ToString());
        return result.GetProperty("structuredContent").GetProperty("result").GetProperty("event_id").GetInt64();
    }
}
