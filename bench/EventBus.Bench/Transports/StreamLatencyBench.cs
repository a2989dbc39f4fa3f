using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace EventBus.Bench.Transports;

/// <summary>
/// Publish → receive latency on the WebSocket stream next to the SSE stream, in the same run: one REST publisher
/// (each publish awaited: it returns after the commit) and one reader of each kind on the same channel, so both see
/// every event; latency is publish start → frame read, per reader.
/// </summary>
internal sealed class StreamLatencyBench(Uri bus, int events, int warmup)
{
    public sealed record Result(string Side, int Events, double P50Ms, double P99Ms);

    public async Task<(Result WebSocket, Result Sse)> RunAsync(string channel, CancellationToken cancellationToken)
    {
        var total = warmup + events;
        var sent = new long[total];
        var ws = new long[total];
        var sse = new long[total];
        var wsDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sseDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var http = new HttpClient { BaseAddress = bus, Timeout = Timeout.InfiniteTimeSpan };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sseSeen = 0;
        var sseReading = await SseReader.OpenAsync(http, $"/api/v1/stream?channel={Uri.EscapeDataString(channel)}", e =>
        {
            sse[int.Parse(e.GetProperty("payload").GetString()!, CultureInfo.InvariantCulture)] = Stopwatch.GetTimestamp();
            if (++sseSeen == total)
            {
                sseDone.TrySetResult();
            }
        }, stop.Token);

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(bus.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + "/api/v1/ws"), cancellationToken);
        await socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { subscribe = new { channel } })), WebSocketMessageType.Text, true, cancellationToken);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wsReading = Task.Run(() => ReadWebSocketAsync(socket, ws, total, subscribed, wsDone, stop.Token), CancellationToken.None);
        await subscribed.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

        for (var i = 0; i < total; i++)
        {
            sent[i] = Stopwatch.GetTimestamp();
            using var content = new StringContent(
                JsonSerializer.Serialize(new { event_type = "latency", payload = i.ToString(CultureInfo.InvariantCulture), channel }), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/api/v1/events", content, cancellationToken);
            response.EnsureSuccessStatusCode();
        }

        await Task.WhenAll(wsDone.Task, sseDone.Task).WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
        await stop.CancelAsync();
        await sseReading;
        await wsReading;
        return (Summarise("WebSocket /api/v1/ws", sent, ws), Summarise("SSE /api/v1/stream", sent, sse));
    }

    private static async Task ReadWebSocketAsync(
        ClientWebSocket socket, long[] arrivals, int total, TaskCompletionSource subscribed, TaskCompletionSource done, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var seen = 0;
        try
        {
            while (seen < total)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                var now = Stopwatch.GetTimestamp();
                using var document = JsonDocument.Parse(buffer.AsMemory(0, result.Count));
                var root = document.RootElement;
                if (root.TryGetProperty("subscribed", out _))
                {
                    subscribed.TrySetResult();
                    continue;
                }

                arrivals[int.Parse(root.GetProperty("payload").GetString()!, CultureInfo.InvariantCulture)] = now;
                seen++;
            }

            done.TrySetResult();
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    private Result Summarise(string side, long[] sent, long[] arrived)
    {
        var latencies = Enumerable.Range(warmup, events).Select(i => arrived[i] - sent[i]).ToList();
        return new Result(side, events, Percentiles.Ms(latencies, 50), Percentiles.Ms(latencies, 99));
    }
}
