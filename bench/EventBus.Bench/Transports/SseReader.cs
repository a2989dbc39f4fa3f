using System.Text.Json;

namespace EventBus.Bench.Transports;

/// <summary>Reads <c>/api/v1/stream</c> and hands each event's JSON to a callback, until cancelled.</summary>
internal static class SseReader
{
    /// <summary>Opens the stream (returns once its headers arrived), then reads it in the background.</summary>
    public static async Task<Task> OpenAsync(HttpClient http, string path, Action<JsonElement> onEvent, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return Task.Run(async () =>
        {
            using (response)
            using (var reader = new StreamReader(body))
            {
                try
                {
                    while (await reader.ReadLineAsync(cancellationToken) is { } line)
                    {
                        if (line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            using var document = JsonDocument.Parse(line.AsMemory(6));
                            onEvent(document.RootElement);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Done.
                }
            }
        }, CancellationToken.None);
    }
}
