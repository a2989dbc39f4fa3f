using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Cli.Channel;
using EventBus.Cli.Claude;
using EventBus.Cli.Client;
using Microsoft.Extensions.Logging;

namespace EventBus.Cli.Monitor;

/// <summary>
/// <c>eventbus monitor</c>: the plugin's monitor. Claude Code runs it in the background from session start and shows the
/// model each line it prints; it prints one line per event the session would be pushed (direct messages, and what it
/// subscribed to at or above its level), from its own durable cursor. It is the push path that needs no channels flag.
/// When <c>EVENTBUS_DELIVERY=channel</c> the channel delivers instead, and the monitor exits at once, printing nothing.
/// </summary>
internal static partial class MonitorCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Option<string?>("--name") { Description = "The session's name on the bus (default: repo/branch of the working directory)" };
        var clientId = new Option<string?>("--client-id") { Description = "Register with this client id (default: $CLAUDE_CODE_SESSION_ID, the same session as the channel and the hooks)" };
        var delivery = new Option<string?>("--delivery") { Description = $"monitor (default) prints events; channel leaves them to `eventbus channel` and exits (${DeliveryMode.Variable})" };
        var command = new Command(
            "monitor",
            "Print one line per event pushed to your session (Claude Code's plugin monitor: each stdout line reaches the model)")
        {
            name, clientId, delivery,
        };
        command.SetAction(context, async run =>
        {
            var env = run.Context.Environment;
            if (DeliveryMode.Resolve(run.Get(delivery), env, DeliveryMode.Monitor) == DeliveryMode.Channel)
            {
                await run.Error.WriteLineAsync($"eventbus monitor: {DeliveryMode.Variable}=channel, so the channel delivers this session's events; the monitor stays off.");
                return CliApp.Ok;
            }

            var cwd = run.Context.CurrentDirectory;
            var settings = new ChannelSettings
            {
                Name = run.Get(name) is { Length: > 0 } n ? n : await SessionIdentity.NameAsync(cwd, run.CancellationToken),
                ClientId = run.Get(clientId) is { Length: > 0 } c ? c : env("CLAUDE_CODE_SESSION_ID") is { Length: > 0 } s ? s : null,
                Machine = run.Context.MachineName,
                Cwd = cwd,
                // Its own cursor file: the channel's (which runs beside it, delivering nothing) never moves it.
                StateDirectory = Path.Combine(StateDirectory.Resolve(run.Context), "monitor"),
            };
            var time = TimeProvider.System;
            using var loggerFactory = LoggerFactory.Create(logging =>
            {
                logging.SetMinimumLevel(run.Get(CliOptions.Debug) ? LogLevel.Debug : LogLevel.Warning);
                logging.AddProvider(new StderrLoggerProvider(run.Error, time));
            });
            using var client = new BusClient(run.Endpoint);
            var pump = new ChannelPump(client, settings, time, loggerFactory.CreateLogger("eventbus monitor"));
            await pump.RunAsync(new LineTarget(run.Out), run.CancellationToken);
            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>One line per event: what the channel would have sent, flattened, with how to answer it.</summary>
    private sealed class LineTarget(TextWriter output) : IDeliveryTarget
    {
        public async Task NotifyAsync(string method, JsonObject parameters, CancellationToken cancellationToken)
        {
            var content = parameters["content"]?.GetValue<string>() ?? "";
            var id = parameters["meta"]?["event_id"]?.GetValue<string>() ?? "";
            var line = $"[eventbus event {id}] {Flatten(content)} (answer: reply(text, event_id=\"{id}\"); handled: ack_events(cursor=\"{id}\"))";
            await output.WriteLineAsync(line.AsMemory(), cancellationToken);
            await output.FlushAsync(cancellationToken);
        }

        private static string Flatten(string text) => text.ReplaceLineEndings(" ⏎ ");
    }
}
