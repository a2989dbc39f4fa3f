using System.CommandLine;
using EventBus.Cli.Claude;

namespace EventBus.Cli.Channel;

/// <summary><c>eventbus channel</c>: the stdio channel Claude Code spawns (<c>{"type":"stdio","command":"eventbus","args":["channel"]}</c>).</summary>
internal static class ChannelCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Option<string?>("--name") { Description = "The session's name on the bus (default: repo/branch of the working directory)" };
        var clientId = new Option<string?>("--client-id")
        {
            Description = "Register with this client id (default: $CLAUDE_CODE_SESSION_ID, which Claude Code sets, so the channel and the hooks are one session)",
        };
        var more = new ChannelOptions();
        var command = new Command(
            "channel",
            "Run the stdio MCP channel for Claude Code: pushes your session's events into it as channel messages and offers the bus's tools (stdout is the MCP stream)")
        {
            name, clientId,
        };
        foreach (var option in more.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(context, async run =>
        {
            var env = run.Context.Environment;
            var cwd = run.Context.CurrentDirectory;
            var settings = more.Apply(new ChannelSettings
            {
                Name = run.Get(name) is { Length: > 0 } n ? n : await SessionIdentity.NameAsync(cwd, run.CancellationToken),
                ClientId = run.Get(clientId) is { Length: > 0 } c ? c : env("CLAUDE_CODE_SESSION_ID") is { Length: > 0 } s ? s : null,
                Machine = run.Context.MachineName,
                Cwd = cwd,
                StateDirectory = StateDirectory.Resolve(run.Context),
            }, run.Parse, env);
            return await ChannelServer.RunAsync(run.Endpoint, settings, run.Error, run.Get(CliOptions.Debug), run.CancellationToken);
        });
        return command;
    }
}
