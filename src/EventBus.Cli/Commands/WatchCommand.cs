using System.CommandLine;
using System.Text.Json;
using EventBus.Cli.Client;
using EventBus.Cli.Pipes;
using EventBus.Core.Channels;
using EventBus.Core.Events;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus watch</c>: follows the bus's event stream and hands each event on: one line (or one JSON object) on
/// stdout, into a named pipe (<c>--fifo</c>), or to a command per event (<c>--exec</c>). Reconnects by itself with
/// <c>Last-Event-ID</c>, so a bus restart loses nothing.
/// </summary>
internal static class WatchCommand
{
    public static Command Create(CliContext context)
    {
        var channel = new Option<string?>("--channel") { Description = "Only this channel, or a pattern: repo:* (one segment), alerts:# (any depth)", HelpName = "P" };
        var cursor = new Option<string?>("--cursor") { Description = "Start after this event id (replays what came since); default: from now", HelpName = "C" };
        var minLevel = new Option<string?>("--min-level") { Description = "Only events at or above this level" };
        minLevel.AcceptOnlyFromAmong("lifecycle", "info", "actionable");
        var fifo = new Option<string?>("--fifo") { Description = "Write each line into this named pipe (created if missing); waits while no reader has it open", HelpName = "PATH" };
        var exec = new Option<string?>("--exec") { Description = "Run this shell command once per event, with the event as JSON on its stdin (and EVENTBUS_EVENT_* variables)", HelpName = "CMD" };
        var count = new Option<int?>("--count") { Description = "Stop after this many events" };
        var command = new Command("watch", "Follow events as they happen (one line, or one JSON object with --json, per event)")
        {
            channel, cursor, minLevel, fifo, exec, count,
        };
        command.SetAction(context, async run =>
        {
            var channelText = run.Get(channel);
            ChannelPattern? pattern = null;
            string? serverChannel = channelText;
            if (channelText is not null && (channelText.Contains('*', StringComparison.Ordinal) || channelText.Contains('#', StringComparison.Ordinal)))
            {
                try
                {
                    pattern = ChannelPattern.Parse(channelText);
                }
                catch (Core.Bus.BusValidationException ex)
                {
                    throw new CliUsageException(ex.Message);
                }

                serverChannel = null; // The stream filters by exact name; patterns are matched here.
            }

            SignalLevel? level = run.Get(minLevel) is { } l && SignalLevels.TryParse(l, out var parsed) ? parsed : null;
            if (run.Get(count) is <= 0)
            {
                throw new CliUsageException("--count must be at least 1.");
            }

            await using var sink = await OpenSinkAsync(run, run.Get(fifo), run.Get(exec));
            var connects = 0;
            var follower = new EventStreamFollower(run.Client, run.Context.Time)
            {
                OnStatus = status =>
                {
                    if (status.State == StreamState.Disconnected)
                    {
                        run.Error.WriteLine($"eventbus: lost the stream ({status.Message}); reconnecting in {status.RetryIn?.TotalSeconds:0.##} s");
                    }
                    else
                    {
                        if (++connects > 1)
                        {
                            run.Error.WriteLine($"eventbus: reconnected; {status.Message}");
                        }
                    }
                },
            };

            var seen = 0;
            var limit = run.Get(count);
            await foreach (var item in follower.FollowAsync(run.Get(cursor), serverChannel, run.CancellationToken))
            {
                if (pattern is not null && !pattern.Matches(item.Channel))
                {
                    continue;
                }

                if (level is { } min && SignalLevels.TryParse(item.Reply.SignalLevel, out var eventLevel) && eventLevel < min)
                {
                    continue;
                }

                await sink.WriteAsync(item, run.Json ? JsonSerializer.Serialize(item.Event, Invocation.CompactJson) : Line(item.Reply), run.CancellationToken);
                if (++seen == limit)
                {
                    break;
                }
            }

            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>One line for one event: <c>[id] type (channel) [level] from: payload</c>, newlines escaped.</summary>
    internal static string Line(Core.Bus.EventReply e)
    {
        var payload = (e.Payload ?? "").Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        var title = e.Title is { Length: > 0 } t ? $"{t}: " : "";
        var from = e.SessionId is { Length: > 0 } s ? $" <{(s.Length > 16 ? s[..8] : s)}>" : "";
        return $"[{e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)}] {e.EventType} ({e.Channel}) [{e.SignalLevel}]{from} {title}{payload}";
    }

    private static async Task<IEventSink> OpenSinkAsync(Invocation run, string? fifo, string? exec)
    {
        if (fifo is not null && exec is not null)
        {
            throw new CliUsageException("--fifo and --exec do not go together: pick one place for the events.");
        }

        if (fifo is not null)
        {
            return await FifoSink.CreateAsync(Path.GetFullPath(fifo, run.Context.CurrentDirectory), run.Error);
        }

        if (exec is not null)
        {
            return new ExecSink(exec, run.Context.CurrentDirectory, run.Out, run.Error);
        }

        return new WriterSink(run.Out);
    }
}
