using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.WebSockets;

/// <summary>The runtime's own WebSocket client on <c>/api/v1/ws</c>, one JSON text frame per message.</summary>
internal sealed class WsClient : IDisposable
{
    private readonly ClientWebSocket _socket;

    private WsClient(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    public static async Task<WsClient> ConnectAsync(BusHost host, string? token = null, string? origin = null)
    {
        var socket = new ClientWebSocket();
        if (token is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        socket.Options.CollectHttpResponseDetails = true;
        await socket.ConnectAsync(Uri(host), TestTimeouts.Token());
        return new WsClient(socket);
    }

    /// <summary>The HTTP status a refused upgrade got.</summary>
    public static async Task<int> RefusedStatusAsync(BusHost host, string? token = null, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (token is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var connect = () => socket.ConnectAsync(Uri(host), TestTimeouts.Token());
        await connect.Should().ThrowAsync<WebSocketException>();
        return (int)socket.HttpStatusCode;
    }

    public static Uri Uri(BusHost host) => new(host.BaseUri.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + "/api/v1/ws");

    public Task SendAsync(string json) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, TestTimeouts.Token());

    public Task SendAsync(object message) => SendAsync(JsonSerializer.Serialize(message));

    public Task SendBinaryAsync(byte[] bytes) => _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, TestTimeouts.Token());

    /// <summary>The next frame as JSON (fails on close or timeout).</summary>
    public async Task<JsonElement> ReceiveAsync()
    {
        var text = await ReceiveTextAsync() ?? throw new InvalidOperationException("the server closed the WebSocket");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The next frame's text, or null when the server closed.</summary>
    public async Task<string?> ReceiveTextAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TestTimeouts.Default);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    /// <summary>Subscribes and returns the <c>subscribed</c> answer.</summary>
    public async Task<JsonElement> SubscribeAsync(string? channel = null, string? cursor = null, string? sessionId = null)
    {
        await SendAsync(new { subscribe = new { channel, cursor, session_id = sessionId } });
        var answer = await ReceiveAsync();
        answer.TryGetProperty("subscribed", out var subscribed).Should().BeTrue(answer.ToString());
        return subscribed;
    }

    /// <summary>Reads frames until the server ends the connection (cut off, closed); the bytes read are thrown away.</summary>
    public async Task ReadUntilClosedAsync()
    {
        try
        {
            while (await ReceiveTextAsync() is not null)
            {
            }
        }
        catch (WebSocketException)
        {
            // Aborted: the expected end of a cut-off connection.
        }
    }

    public void Dispose() => _socket.Dispose();
}
