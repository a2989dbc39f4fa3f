using Microsoft.Extensions.Logging;

namespace EventBus.Cli.Channel;

/// <summary>
/// One plain line per log entry on stderr (<c>HH:mm:ss level: message</c>): stdout carries the MCP stream, and
/// Claude Code keeps a stdio server's stderr in its MCP log.
/// </summary>
internal sealed class StderrLoggerProvider(TextWriter error, TimeProvider time) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new StderrLogger(this);

    private DateTimeOffset Now => time.GetLocalNow();

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            error.WriteLine(line);
            error.Flush();
        }
    }

    private sealed class StderrLogger(StderrLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch
            {
                LogLevel.Trace => "trace",
                LogLevel.Debug => "debug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "error",
                _ => "crit",
            };
            var line = $"{provider.Now:HH:mm:ss} {level}: {formatter(state, exception)}";
            if (exception is not null)
            {
                line += " — " + exception.Message;
            }

            provider.Write(line);
        }
    }
}
