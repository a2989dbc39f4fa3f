using System.Net.Sockets;
using System.Text;
using EventBus.Bench.Clients;

namespace EventBus.Bench.Push;

/// <summary>
/// A subscribed session whose GET stream is open on a socket that never reads, with a small fixed receive buffer
/// (which turns off the kernel's autotuning), as a wedged client: its socket and the server's send buffer fill, then
/// the server's queue for it.
/// </summary>
internal sealed class StuckSubscriber : IAsyncDisposable
{
    private readonly McpSession _session;
    private readonly Socket _socket;

    private StuckSubscriber(McpSession session, Socket socket, string busSessionId)
    {
        _session = session;
        _socket = socket;
        BusSessionId = busSessionId;
    }

    /// <summary>Its bus session id: direct messages to <c>session:&lt;id&gt;</c> fill its stream.</summary>
    public string BusSessionId { get; }

    public static async Task<StuckSubscriber> OpenAsync(Uri mcp, string channel, CancellationToken cancellationToken)
    {
        var session = await McpSession.OpenAsync(mcp, "bench-stuck", cancellationToken);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        try
        {
            var registered = await session.CallToolJsonAsync(
                "register_session",
                $$"""{"name":"bench-stuck","machine":"bench","cwd":"/bench","client_id":"bench-stuck-{{Guid.NewGuid():N}}"}""",
                cancellationToken);
            await session.CallToolJsonAsync("subscribe", $$"""{"channel":"{{channel}}","min_level":"info"}""", cancellationToken);
            await socket.ConnectAsync(mcp.Host, mcp.Port, cancellationToken);
            var request =
                $"GET {mcp.AbsolutePath} HTTP/1.1\r\nHost: {mcp.Authority}\r\nAccept: text/event-stream\r\n" +
                $"Mcp-Session-Id: {session.SessionId}\r\nMCP-Protocol-Version: {McpSession.ProtocolVersion}\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
            return new StuckSubscriber(session, socket, registered.GetProperty("session_id").GetString()!);
        }
        catch
        {
            socket.Dispose();
            await session.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _session.DisposeAsync();
    }
}
