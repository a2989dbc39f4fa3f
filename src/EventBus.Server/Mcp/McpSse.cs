using System.Globalization;
using System.Text;

namespace EventBus.Server.Mcp;

/// <summary>
/// The priming event every POST answered as <c>text/event-stream</c> starts with (SEP-1699): an <c>id</c>, empty
/// <c>data</c>, and a <c>retry</c> field telling the client how long to wait before it reconnects.
/// </summary>
internal static class McpSse
{
    /// <summary>
    /// The priming id of a POST's stream. Not a number, so a client that reconnects the GET stream with it as
    /// <c>Last-Event-ID</c> is not taken to resume push from an event id: a POST's stream carries one answer and
    /// nothing is replayed from it.
    /// </summary>
    public const string PostStreamId = "post";

    /// <summary>
    /// Whether a POST's stream opens with the priming event: when it belongs to a session (its answer carries
    /// <c>Mcp-Session-Id</c>), the only kind of client that can reconnect with <c>Last-Event-ID</c>. A session-less
    /// POST (the old CLI, which takes the first <c>data:</c> line as the answer) gets the answer alone.
    /// </summary>
    public static bool Primes(HttpContext context) => context.Response.Headers.ContainsKey(McpHttpHandler.SessionHeader);

    public static ReadOnlyMemory<byte> Priming(string id, TimeSpan retry) =>
        Encoding.ASCII.GetBytes(
            $"id: {id}\nretry: {((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}\ndata: \n\n");
}
