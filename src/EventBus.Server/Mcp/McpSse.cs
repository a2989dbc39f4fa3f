using System.Globalization;
using System.Text;

namespace EventBus.Server.Mcp;

/// <summary>
/// The priming event every POST answered as <c>text/event-stream</c> starts with (SEP-1699): an <c>id</c>, empty
/// <c>data</c>, and a <c>retry</c> field telling the client how long to wait before it reconnects.
/// </summary>
internal static class McpSse
{
    /// <summary>What the ids of POST streams start with (<see cref="NextPostStreamId"/>).</summary>
    public const string PostStreamPrefix = "post-";

    /// <summary>A <c>: keepalive</c> comment, written on a stream that has been quiet for the keep-alive interval.</summary>
    public static readonly ReadOnlyMemory<byte> KeepAlive = ": keepalive\n\n"u8.ToArray();

    private static long s_postStreams;

    /// <summary>
    /// A new POST stream id, unique in this process (so within every session): <c>post-</c> and a number. Not a number
    /// itself, so a GET with it as <c>Last-Event-ID</c> is never taken to resume push from an event id: it resumes that
    /// POST stream (its answer, when the server ended the stream early and kept the answer, see <c>Mcp/Resume</c>), and
    /// an id the session does not know is ignored as before.
    /// </summary>
    public static string NextPostStreamId() =>
        PostStreamPrefix + Interlocked.Increment(ref s_postStreams).ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether a <c>Last-Event-ID</c> names a POST stream (rather than an event).</summary>
    public static bool IsPostStreamId(string? id) => id is not null && id.StartsWith(PostStreamPrefix, StringComparison.Ordinal);

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
