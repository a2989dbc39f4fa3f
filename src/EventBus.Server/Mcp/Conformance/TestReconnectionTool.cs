using EventBus.Server.Tools;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Mcp.Conformance;

/// <summary>
/// <c>test_reconnection</c>: the MCP conformance suite's fixture for its <c>server-sse-polling</c> scenario (SEP-1699).
/// It ends its own POST stream mid-call, then answers; the answer reaches the client on the GET that resumes the
/// stream with its id as <c>Last-Event-ID</c>. A test fixture, registered only with <c>EventBus:Mcp:ConformanceFixtures</c>.
/// </summary>
internal static class TestReconnectionTool
{
    public const string Name = "test_reconnection";

    public const string Answer = "Reconnection test completed: this answer came on the resumed stream.";

    public static BusTool Create() => new(
        Name,
        "Conformance fixture: reconnection",
        """
        A test fixture for the MCP conformance suite (SEP-1699 SSE polling), not a bus tool: ends its POST stream
        before answering, so the client must resume the stream with GET and Last-Event-ID to get the answer.
        """,
        new ToolSchema()
            .Boolean("wait_for_resume", "Answer only once a GET has resumed the stream (default: answer at once; the answer waits for the GET)."),
        new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) =>
        {
            if (c.Stream is not { } stream)
            {
                throw new ToolArgumentException(
                    $"{Name} needs an MCP session (initialize first): it ends its POST stream, and only a session's stream can be resumed.");
            }

            if (!await stream.CloseAsync(ct))
            {
                throw new ToolArgumentException(
                    $"{Name}: the stream could not be ended early (this session keeps EventBus:Mcp:PendingResponseLimit answers already).");
            }

            if (c.Args.OptionalBool("wait_for_resume", false))
            {
                await stream.Resumed.WaitAsync(ct);
            }

            return new ReconnectionReply(Answer);
        })
    {
        MayCloseStream = true,
    };

    private sealed record ReconnectionReply(string Message);
}
