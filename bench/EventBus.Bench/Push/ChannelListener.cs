using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EventBus.Bench.Clients;

namespace EventBus.Bench.Push;

/// <summary>
/// A subscribed MCP session's GET stream, read the way an MCP client's notification handler sees it: each SSE
/// <c>data:</c> line parsed as a JSON-RPC message, and for <c>notifications/claude/channel</c> the arrival of
/// <c>meta.event_id</c> recorded.
/// </summary>
internal sealed class ChannelListener : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    private ChannelListener(McpSession session, HttpResponseMessage response, Stream body)
    {
        Session = session;
        _response = response;
        _reader = Task.Run(() => ReadAsync(body, _stop.Token));
    }

    public McpSession Session { get; }

    public Arrivals Arrivals { get; } = new();

    /// <summary>Set when the stream ended or failed while it was meant to be open.</summary>
    public string? Failure { get; private set; }

    /// <summary>
    /// Opens a session, registers it on the bus, subscribes it to <paramref name="channel"/> at
    /// <paramref name="minLevel"/>, and opens its GET stream on <paramref name="streams"/> (a client whose handler
    /// allows one connection per stream).
    /// </summary>
    public static async Task<ChannelListener> OpenAsync(
        Uri mcp, HttpClient streams, string name, string channel, string minLevel, CancellationToken cancellationToken)
    {
        var session = await McpSession.OpenAsync(mcp, name, cancellationToken);
        try
        {
            await session.CallToolJsonAsync(
                "register_session",
                $$"""{"name":"{{name}}","machine":"bench","cwd":"/bench","client_id":"{{name}}-{{Guid.NewGuid():N}}"}""",
                cancellationToken);
            await session.CallToolJsonAsync("subscribe", $$"""{"channel":"{{channel}}","min_level":"{{minLevel}}"}""", cancellationToken);
            var response = await OpenStreamAsync(session, streams, cancellationToken);
            return new ChannelListener(session, response, await response.Content.ReadAsStreamAsync(cancellationToken));
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    public static async Task<HttpResponseMessage> OpenStreamAsync(McpSession session, HttpClient streams, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, session.Endpoint);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.TryAddWithoutValidation("Mcp-Session-Id", session.SessionId);
        request.Headers.TryAddWithoutValidation("MCP-Protocol-Version", McpSession.ProtocolVersion);
        var response = await streams.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new BenchException($"GET stream: HTTP {(int)response.StatusCode}: {text}");
        }

        return response;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
            // Closing the stream ends the reader.
        }

        await Session.DisposeAsync();
        _stop.Dispose();
    }

    private async Task ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(body);
        try
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }

                using var message = JsonDocument.Parse(line.AsMemory(5));
                var root = message.RootElement;
                if (root.TryGetProperty("method", out var method) && method.ValueEquals("notifications/claude/channel"))
                {
                    var id = root.GetProperty("params").GetProperty("meta").GetProperty("event_id").GetString()!;
                    Arrivals.Record(long.Parse(id, System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                Failure = "the server ended the stream";
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Failure = $"{ex.GetType().Name}: {ex.Message}";
        }
    }
}
