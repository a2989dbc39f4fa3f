using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using EventBus.Cli.Client;

namespace EventBus.Cli.Pipes;

/// <summary>Where <c>eventbus watch</c> puts each event.</summary>
internal interface IEventSink : IAsyncDisposable
{
    /// <summary>Hands on one event; <paramref name="line"/> is its rendering (text or JSON) without a newline.</summary>
    Task WriteAsync(StreamEvent item, string line, CancellationToken cancellationToken);
}

/// <summary>Lines on stdout, flushed per event so a pipe sees each one at once.</summary>
internal sealed class WriterSink(TextWriter writer) : IEventSink
{
    public async Task WriteAsync(StreamEvent item, string line, CancellationToken cancellationToken)
    {
        await writer.WriteLineAsync(line.AsMemory(), cancellationToken);
        await writer.FlushAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Lines into a named pipe (the RFC's FIFO proposal): created when missing; while no reader has it open, writing
/// waits (the events wait in the bus, not in memory); when the reader goes away mid-stream, the line that failed is
/// written again to the next reader, so a reader that comes and goes misses nothing.
/// </summary>
internal sealed partial class FifoSink : IEventSink
{
    private const uint Mode = 0x180; // 0600: the events are the user's.

    private readonly string _path;
    private readonly TextWriter _log;
    private FileStream? _stream;

    private FifoSink(string path, TextWriter log)
    {
        _path = path;
        _log = log;
    }

    public static Task<FifoSink> CreateAsync(string path, TextWriter log)
    {
        if (File.Exists(path) || Directory.Exists(path))
        {
            if (!IsFifo(path))
            {
                throw new CliUsageException($"--fifo {path}: it exists and is not a named pipe; remove it or pick another path.");
            }
        }
        else if (mkfifo(path, Mode) != 0)
        {
            throw new CliUsageException($"--fifo {path}: cannot create the named pipe ({Marshal.GetLastPInvokeErrorMessage()}).");
        }

        return Task.FromResult(new FifoSink(path, log));
    }

    public async Task WriteAsync(StreamEvent item, string line, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        while (true)
        {
            // Opening a FIFO for writing blocks until a reader opens it; that wait runs off the caller's thread.
            _stream ??= await Task.Run(() => new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None), cancellationToken);
            try
            {
                await _stream.WriteAsync(bytes, cancellationToken);
                await _stream.FlushAsync(cancellationToken);
                return;
            }
            catch (IOException)
            {
                // EPIPE: the reader closed its end. Wait for the next reader and give it this line.
                await _stream.DisposeAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
                _stream = null;
                await _log.WriteLineAsync($"eventbus: the reader of {_path} went away; waiting for the next one (event {item.Id} is kept)");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null)
        {
            try
            {
                await _stream.DisposeAsync();
            }
            catch (IOException)
            {
                // The reader is gone already.
            }
        }
    }

    private static bool IsFifo(string path)
    {
        // .NET has no file-type flag for FIFOs; `test -p` is the portable answer.
        using var test = Process.Start(new ProcessStartInfo("test", ["-p", path]) { UseShellExecute = false })!;
        test.WaitForExit();
        return test.ExitCode == 0;
    }

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int mkfifo(string path, uint mode);
}

/// <summary>
/// Runs <c>sh -c CMD</c> once per event, one at a time, with the event's JSON on stdin and
/// <c>EVENTBUS_EVENT_ID</c>, <c>EVENTBUS_EVENT_TYPE</c>, <c>EVENTBUS_CHANNEL</c>, <c>EVENTBUS_SIGNAL_LEVEL</c> set.
/// Its output is passed through; a failing command is reported on stderr and the watch goes on.
/// </summary>
internal sealed class ExecSink(string command, string workingDirectory, TextWriter output, TextWriter error) : IEventSink
{
    public async Task WriteAsync(StreamEvent item, string line, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        info.Environment["EVENTBUS_EVENT_ID"] = item.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["EVENTBUS_EVENT_TYPE"] = item.EventType;
        info.Environment["EVENTBUS_CHANNEL"] = item.Channel;
        info.Environment["EVENTBUS_SIGNAL_LEVEL"] = item.Reply.SignalLevel ?? "";

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new BusCallException($"cannot start /bin/sh for --exec {command}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new BusCallException($"cannot run --exec in {workingDirectory}: {ex.Message}");
        }

        using var _ = process;
        var stdout = PumpAsync(process.StandardOutput, output, cancellationToken);
        var stderr = PumpAsync(process.StandardError, error, cancellationToken);
        try
        {
            await process.StandardInput.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(item.Event, Invocation.CompactJson).AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The command did not read its stdin; that is its business.
        }

        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await Task.WhenAll(stdout, stderr);
        if (process.ExitCode != 0)
        {
            await error.WriteLineAsync($"eventbus: --exec exited with code {process.ExitCode} for event {item.Id}; going on");
        }
    }

    private static async Task PumpAsync(StreamReader from, TextWriter to, CancellationToken cancellationToken)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        await to.FlushAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
