using System.Text;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.McpEvents;

/// <summary>An open <c>events/stream</c>: reads its SSE frames one JSON-RPC message at a time.</summary>
internal sealed class EventStreamReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private EventStreamReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    /// <summary>Frames whose data was empty (the priming event), and the <c>retry:</c> values seen.</summary>
    public List<string> PrimingIds { get; } = [];

    public List<string> Retries { get; } = [];

    public static async Task<EventStreamReader> OpenAsync(BusHost host, object parameters, string? token = null, object? id = null)
    {
        var body = JsonSerializer.Serialize(new { jsonrpc = "2.0", id = id ?? 42, method = "events/stream", @params = parameters });
        var response = await host.PostAsync(body, adjust: EventsJsonRpc.Bearer(token));
        response.IsSuccessStatusCode.Should().BeTrue();
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        return new EventStreamReader(response, await response.Content.ReadAsStreamAsync(TestTimeouts.Token()));
    }

    /// <summary>The next message with data; the priming event is recorded, not returned.</summary>
    public async Task<JsonElement> NextAsync()
    {
        string? id = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync().WaitAsync(TestTimeouts.Default)
                ?? throw new InvalidOperationException("the stream ended");
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return JsonDocument.Parse(data.ToString()).RootElement.Clone();
                }

                if (id is not null)
                {
                    PrimingIds.Add(id);
                }

                id = null;
                continue;
            }

            if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                id = line[3..].Trim();
            }
            else if (line.StartsWith("retry:", StringComparison.Ordinal))
            {
                Retries.Add(line[6..].Trim());
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line[5..].TrimStart());
            }
        }
    }

    /// <summary>The next message of this method, skipping heartbeats unless asked for.</summary>
    public async Task<JsonElement> NextOfAsync(string method)
    {
        while (true)
        {
            var message = await NextAsync();
            if (message.TryGetProperty("method", out var m) && m.GetString() == method)
            {
                return message;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
