using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EventBus.Server.Mcp;

/// <summary>
/// One SSE <c>event: message</c> frame whose <c>data:</c> is a JSON object written by the caller, on one line
/// (compact JSON escapes newlines), with an optional <c>id:</c> for <c>Last-Event-ID</c> resumption.
/// </summary>
internal static class SseMessage
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static ArrayBufferWriter<byte> Build(
        Action<Utf8JsonWriter> writeMembers, long? id = null, int capacity = 512, ReadOnlySpan<byte> prefix = default)
    {
        var buffer = new ArrayBufferWriter<byte>(capacity + prefix.Length);
        buffer.Write(prefix);
        if (id is { } eventId)
        {
            buffer.Write("id: "u8);
            buffer.Write(System.Text.Encoding.ASCII.GetBytes(eventId.ToString(CultureInfo.InvariantCulture)));
            buffer.Write("\n"u8);
        }

        buffer.Write("event: message\ndata: "u8);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            writeMembers(json);
            json.WriteEndObject();
        }

        buffer.Write("\n\n"u8);
        return buffer;
    }

    /// <summary>A JSON-RPC notification <c>{jsonrpc, method, params}</c> as one frame.</summary>
    public static ReadOnlyMemory<byte> Notification(string method, Action<Utf8JsonWriter> writeParams, long? id = null) =>
        Build(
            json =>
            {
                json.WriteString("jsonrpc", "2.0");
                json.WriteString("method", method);
                json.WriteStartObject("params");
                writeParams(json);
                json.WriteEndObject();
            },
            id).WrittenMemory;
}
