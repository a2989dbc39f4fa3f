using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.McpResume;

/// <summary>One SSE frame as a client parses it: its id, retry and data (null when the frame had none).</summary>
internal sealed record SseFrame(string? Id, string? Retry, string? Data)
{
    public JsonElement Json => JsonDocument.Parse(Data!).RootElement.Clone();
}

/// <summary>Reads an SSE response frame by frame (comments skipped), and opens the GETs of these tests.</summary>
internal sealed class SseFrames(StreamReader reader)
{
    public static async Task<SseFrames> OfAsync(HttpResponseMessage response) =>
        new(new StreamReader(await response.Content.ReadAsStreamAsync(TestTimeouts.Token()), Encoding.UTF8));

    /// <summary>The next frame, or null when the stream ended.</summary>
    public async Task<SseFrame?> NextAsync()
    {
        string? id = null, retry = null;
        StringBuilder? data = null;
        var any = false;
        while (await reader.ReadLineAsync().WaitAsync(TestTimeouts.Default) is { } line)
        {
            if (line.Length == 0)
            {
                if (any)
                {
                    return new SseFrame(id, retry, data?.ToString());
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                continue; // A keep-alive comment.
            }

            any = true;
            if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                id = line[3..].Trim();
            }
            else if (line.StartsWith("retry:", StringComparison.Ordinal))
            {
                retry = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                (data ??= new StringBuilder()).Append(line[5..].TrimStart());
            }
        }

        return null;
    }

    /// <summary>Every frame until the server ends the stream.</summary>
    public async Task<List<SseFrame>> ToEndAsync()
    {
        var frames = new List<SseFrame>();
        while (await NextAsync() is { } frame)
        {
            frames.Add(frame);
        }

        return frames;
    }

    /// <summary>The next frame that carries data.</summary>
    public async Task<JsonElement> NextDataAsync()
    {
        while (await NextAsync() is { } frame)
        {
            if (!string.IsNullOrEmpty(frame.Data))
            {
                return frame.Json;
            }
        }

        throw new InvalidOperationException("the stream ended before a message with data");
    }

    /// <summary>A GET on <c>/mcp</c> for <paramref name="session"/>, with a <c>Last-Event-ID</c> when given.</summary>
    public static Task<HttpResponseMessage> GetAsync(BusHost host, string session, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, host.McpUri);
        request.Headers.Add("Mcp-Session-Id", session);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestTimeouts.Token());
    }
}
