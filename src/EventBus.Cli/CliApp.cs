using System.CommandLine;
using System.CommandLine.Invocation;
using EventBus.Cli.Client;
using EventBus.Cli.Commands;

namespace EventBus.Cli;

/// <summary>The <c>eventbus</c> command: builds the command tree and runs it with exit codes 0 / 1 / 2.</summary>
public static class CliApp
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and failed (the bus is down, it refused, a result carried an error).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong.</summary>
    public const int Usage = 2;

    /// <summary>Parses and runs one command line.</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        var root = BuildRoot(context);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                await context.Error.WriteLineAsync($"eventbus: {error.Message}");
            }

            var command = string.Join(' ', parse.CommandResult.Command is RootCommand ? ["eventbus"] : PathOf(parse.CommandResult.Command));
            await context.Error.WriteLineAsync($"Run '{command} --help' for usage.");
            return Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        return await parse.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>The command tree (public so the channel and hook commands can be added beside the others).</summary>
    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("eventbus: the server, and a command line for the bus (sessions, events, watch, webhooks, Claude Code setup).");
        root.Options.Add(CliOptions.Url);
        root.Options.Add(CliOptions.Json);
        root.Options.Add(CliOptions.Debug);
        foreach (var command in CommandCatalog.All(context))
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>
    /// Sets a command's action: runs <paramref name="run"/> with an <see cref="Invocation"/> and turns the failures
    /// every command shares into one line on stderr and an exit code.
    /// </summary>
    internal static void SetAction(this Command command, CliContext context, Func<Invocation, Task<int>> run) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var invocation = new Invocation(context, parse, cancellationToken);
            try
            {
                return await run(invocation);
            }
            catch (CliUsageException ex)
            {
                await context.Error.WriteLineAsync($"eventbus: {ex.Message}");
                return Usage;
            }
            catch (BusUnavailableException ex)
            {
                await context.Error.WriteLineAsync(BusDownMessage(invocation, ex));
                return Failed;
            }
            catch (Exception ex) when (ex is BusAuthException or BusCallException && !parse.GetValue(CliOptions.Debug))
            {
                await context.Error.WriteLineAsync($"eventbus: {ex.Message}");
                return Failed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Failed;
            }
        });

    /// <summary>The one line printed when the bus cannot be reached.</summary>
    internal static string BusDownMessage(Invocation invocation, BusUnavailableException ex)
    {
        var url = invocation.Endpoint.McpUrl;
        var detail = invocation.Parse.GetValue(CliOptions.Debug) ? $" [{ex.Reason}]" : "";
        return $"eventbus: the bus is down at {url} — start it with `eventbus serve` or `make run`{detail}";
    }

    private static IEnumerable<string> PathOf(Command command)
    {
        var names = new Stack<string>();
        for (Symbol? symbol = command; symbol is Command c; symbol = c.Parents.FirstOrDefault())
        {
            names.Push(c is RootCommand ? "eventbus" : c.Name);
        }

        return names;
    }
}
