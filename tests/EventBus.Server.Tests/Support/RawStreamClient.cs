using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EventBus.Server.Tests.Support;

/// <summary>
/// An SSE client on a raw socket that reads only when told to: it can stop reading, as a wedged client does. Its small
/// fixed receive buffer turns off the kernel's autotuning (up to 32 MiB on loopback), so what it has not read really
/// stays in the server's socket. It decodes the chunked body itself, so "parsed" means a whole SSE frame it read.
/// </summary>
internal sealed class RawStreamClient : IDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
    private readonly List<byte> _raw = [];
    private readonly StringBuilder _body = new();
    private bool _headersRead;

    public static async Task<RawStreamClient> OpenAsync(BusHost host, string path, params string[] headers)
    {
        var client = new RawStreamClient();
        await client._socket.ConnectAsync(host.BaseUri.Host, host.BaseUri.Port);
        var request = new StringBuilder($"GET {path} HTTP/1.1\r\nHost: {host.BaseUri.Authority}\r\nAccept: text/event-stream\r\n");
        foreach (var header in headers)
        {
            request.Append(header).Append("\r\n");
        }

        await client._socket.SendAsync(Encoding.ASCII.GetBytes(request.Append("\r\n").ToString()));
        return client;
    }

    /// <summary>Reads until a whole SSE frame with an <c>id:</c> has been parsed, and returns that id.</summary>
    public async Task<long> NextIdAsync()
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            if (TakeFrame() is { } frame)
            {
                var idLine = frame.Split('\n').FirstOrDefault(l => l.StartsWith("id:", StringComparison.Ordinal));
                if (idLine is not null)
                {
                    return long.Parse(idLine[3..].Trim(), CultureInfo.InvariantCulture);
                }

                continue;
            }

            var buffer = new byte[4096];
            var read = await _socket.ReceiveAsync(buffer, deadline.Token);
            read.Should().BePositive("the stream ended early");
            _raw.AddRange(buffer.AsSpan(0, read));
            Decode();
        }
    }

    /// <summary>Reads and discards until the server closes (or resets) the connection.</summary>
    public async Task ReadUntilClosedAsync()
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        var buffer = new byte[65536];
        try
        {
            while (await _socket.ReceiveAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset by the server: closed too.
        }
    }

    public void Dispose() => _socket.Dispose();

    private string? TakeFrame()
    {
        var text = _body.ToString();
        var end = text.IndexOf("\n\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }

        _body.Remove(0, end + 2);
        return text[..end];
    }

    /// <summary>Moves whole chunks of the chunked body (after the response head) into the decoded text.</summary>
    private void Decode()
    {
        var bytes = _raw.ToArray();
        var text = Encoding.Latin1.GetString(bytes);
        var position = 0;
        if (!_headersRead)
        {
            var head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (head < 0)
            {
                return;
            }

            text[..head].Should().StartWith("HTTP/1.1 200").And.ContainEquivalentOf("transfer-encoding: chunked");
            _headersRead = true;
            position = head + 4;
        }

        while (true)
        {
            var lineEnd = text.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (lineEnd < 0)
            {
                break;
            }

            var size = int.Parse(text[position..lineEnd], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (lineEnd + 2 + size + 2 > text.Length)
            {
                break;
            }

            _body.Append(Encoding.UTF8.GetString(bytes, lineEnd + 2, size));
            position = lineEnd + 2 + size + 2;
        }

        _raw.RemoveRange(0, position);
    }
}
