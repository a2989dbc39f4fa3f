using System.CommandLine;
using EventBus.Server.Hosting;

namespace EventBus.Cli.Commands;

/// <summary><c>eventbus serve</c>: the server itself, with the same options as <c>make run</c>.</summary>
internal static class ServeCommand
{
    public static Command Create(CliContext context)
    {
        var host = new Option<string?>("--host") { Description = "Address to listen on (default 127.0.0.1; $EVENTBUS_HOST)" };
        var port = new Option<string?>("--port") { Description = "TCP port (default 8080, 0 picks a free one; $EVENTBUS_PORT)" };
        var db = new Option<string?>("--db") { Description = "The SQLite database (default ~/.local/share/eventbus/bus.db; $EVENTBUS_DB)" };
        var command = new Command("serve", "Run the EventBus server (the same options as `make run`; any --EventBus:<Key>=<value> too)")
        {
            host, port, db,
        };

        // Everything else (--EventBus:Store:Synchronous=Full, --Logging:LogLevel:Default=Debug) goes to the server's
        // configuration as it is, exactly as `make run ARGS=...` passes it.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(context, async invocation =>
        {
            List<string> args = [];
            Add(args, "--host", invocation.Get(host));
            Add(args, "--port", invocation.Get(port));
            Add(args, "--db", invocation.Get(db));
            args.AddRange(invocation.Parse.UnmatchedTokens);
            return await EventBusApp.RunAsync([.. args]);
        });
        return command;
    }

    private static void Add(List<string> args, string name, string? value)
    {
        if (value is not null)
        {
            args.Add(name);
            args.Add(value);
        }
    }
}
