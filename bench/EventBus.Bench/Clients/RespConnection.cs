using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace EventBus.Bench.Clients;

/// <summary>
/// A minimal Redis client: one TCP connection, RESP2 commands written as arrays of bulk strings, one reply read per
/// command (closed loop, no pipelining). Enough for <c>XADD</c>, <c>PING</c>, <c>CONFIG GET</c> and <c>INFO</c>.
/// </summary>
internal sealed class RespConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RespConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RespConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken);
            return new RespConnection(tcp);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Encodes a command as RESP: <c>*N\r\n$len\r\narg\r\n...</c>.</summary>
    public static byte[] Encode(params string[] args)
    {
        var builder = new StringBuilder();
        builder.Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            builder.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    /// <summary>Sends an encoded command and reads its reply: a string, a long, a list, or a <see cref="RespError"/>.</summary>
    public async ValueTask<object?> ExecuteAsync(byte[] command, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(command, cancellationToken);
        return await ReadReplyAsync(cancellationToken);
    }

    /// <summary>
    /// The hot path for <c>XADD</c>: sends the command and checks the reply is a bulk string (the new entry id)
    /// without allocating it.
    /// </summary>
    public async ValueTask<bool> ExecuteExpectBulkAsync(byte[] command, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(command, cancellationToken);
        var line = await ReadLineAsync(cancellationToken);
        if (_buffer[line.Start] != (byte)'$')
        {
            return false;
        }

        var length = ParseLong(line.Start + 1, line.Length - 1);
        if (length < 0)
        {
            return false;
        }

        await SkipAsync((int)length + 2, cancellationToken);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }

    private async ValueTask<object?> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        var type = _buffer[line.Start];
        var text = Encoding.UTF8.GetString(_buffer, line.Start + 1, line.Length - 1);
        switch (type)
        {
            case (byte)'+':
                return text;
            case (byte)'-':
                return new RespError(text);
            case (byte)':':
                return ParseLong(line.Start + 1, line.Length - 1);
            case (byte)'$':
                {
                    var length = ParseLong(line.Start + 1, line.Length - 1);
                    if (length < 0)
                    {
                        return null;
                    }

                    await FillAsync((int)length + 2, cancellationToken);
                    var value = Encoding.UTF8.GetString(_buffer, _start, (int)length);
                    _start += (int)length + 2;
                    return value;
                }

            case (byte)'*':
                {
                    var count = ParseLong(line.Start + 1, line.Length - 1);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new List<object?>((int)count);
                    for (var i = 0; i < count; i++)
                    {
                        items.Add(await ReadReplyAsync(cancellationToken));
                    }

                    return items;
                }

            default:
                throw new BenchException($"Redis: unexpected reply type '{(char)type}'.");
        }
    }

    /// <summary>Reads up to the next CRLF; returns the line's place in the buffer (without the CRLF) and consumes it.</summary>
    private async ValueTask<(int Start, int Length)> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var index = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf("\r\n"u8);
            if (index >= 0)
            {
                var start = _start;
                var length = scanned + index;
                _start += length + 2;
                return (start, length);
            }

            scanned = Math.Max(0, _end - _start - 1);
            await ReadMoreAsync(cancellationToken);
        }
    }

    private async ValueTask FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            await ReadMoreAsync(cancellationToken);
        }
    }

    private async ValueTask SkipAsync(int count, CancellationToken cancellationToken)
    {
        await FillAsync(count, cancellationToken);
        _start += count;
    }

    private async ValueTask ReadMoreAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            // Compact, and grow when one reply is larger than the buffer.
            var pending = _end - _start;
            var target = pending * 2 > _buffer.Length ? new byte[_buffer.Length * 2] : _buffer;
            Buffer.BlockCopy(_buffer, _start, target, 0, pending);
            _buffer = target;
            _start = 0;
            _end = pending;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            throw new BenchException("Redis closed the connection.");
        }

        _end += read;
    }

    private long ParseLong(int start, int length) =>
        Utf8Parser.TryParse(_buffer.AsSpan(start, length), out long value, out var consumed) && consumed == length
            ? value
            : throw new BenchException($"Redis: bad number \"{Encoding.UTF8.GetString(_buffer, start, length)}\".");
}

/// <summary>A Redis error reply (<c>-ERR ...</c>).</summary>
internal sealed record RespError(string Message);
