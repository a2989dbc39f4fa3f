using System.Collections.Concurrent;
using EventBus.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace EventBus.Server.Tests.Hosting;

/// <summary>Serilog levels and the optional request log, read through a sink registered in the container.</summary>
public sealed class LoggingTests
{
    private const string RequestLogger = "Serilog.AspNetCore.RequestLoggingMiddleware";

    [Fact]
    public async Task RequestLog_WhenOn_LogsEachRequestWithItsStatus()
    {
        var sink = new CapturingSink(e => Source(e) == RequestLogger && e.Properties["RequestPath"].ToString() == "\"/health\"");
        await using var host = await StartAsync(sink, "--EventBus:RequestLog=true");

        (await host.Http.GetAsync("/health", TestTimeouts.Token())).EnsureSuccessStatusCode();

        var logged = await sink.Wanted.WaitAsync(TestTimeouts.Default);
        logged.Level.Should().Be(LogEventLevel.Information);
        logged.RenderMessage().Should().StartWith("HTTP \"GET\" \"/health\" responded 200 in ");
        logged.Properties["StatusCode"].ToString().Should().Be("200");
    }

    [Fact]
    public async Task RequestLog_IsOffByDefault_AndTheMcpSdkAndAspNetCoreStayAtWarning()
    {
        var sink = new CapturingSink(_ => false);
        var host = await StartAsync(sink);
        await using (host)
        {
            (await host.Http.GetAsync("/health", TestTimeouts.Token())).EnsureSuccessStatusCode();
            var client = await host.ConnectAsync();
            await client.CallAsync("list_sessions");
            await host.App.StopAsync(TestTimeouts.Token()); // Every request has finished (and logged) once the host stopped.
        }

        sink.Events.Should().Contain(e => Source(e) == "EventBus", "the bus's own Information lines are kept");
        sink.Events.Where(e => Source(e) == RequestLogger).Should().BeEmpty();
        sink.Events.Where(e => e.Level < LogEventLevel.Warning && (Source(e).StartsWith("ModelContextProtocol", StringComparison.Ordinal) || Source(e).StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)))
            .Select(e => Source(e) + ": " + e.RenderMessage()).Should().BeEmpty();
    }

    private static Task<BusHost> StartAsync(CapturingSink sink, params string[] args) =>
        BusHost.StartAsync(services => services.AddSingleton<ILogEventSink>(sink), ["--Logging:LogLevel:Default=Information", .. args]);

    private static string Source(LogEvent e) =>
        e.Properties.TryGetValue("SourceContext", out var source) ? source.ToString().Trim('"') : "";

    private sealed class CapturingSink(Func<LogEvent, bool> wanted) : ILogEventSink
    {
        private readonly TaskCompletionSource<LogEvent> _wanted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<LogEvent> Events { get; } = new();

        /// <summary>The first event the test waits for.</summary>
        public Task<LogEvent> Wanted => _wanted.Task;

        public void Emit(LogEvent logEvent)
        {
            Events.Enqueue(logEvent);
            if (wanted(logEvent))
            {
                _wanted.TrySetResult(logEvent);
            }
        }
    }
}
