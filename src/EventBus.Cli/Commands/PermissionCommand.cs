using System.CommandLine;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli.Commands;

/// <summary><c>eventbus permission allow|deny REQUEST_ID</c>: answer an agent's permission request (needs the approve scope).</summary>
internal static class PermissionCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("permission", "Answer an agent's permission request (a permission_request event): needs a token with the approve or admin scope");
        command.Subcommands.Add(Answer(context, "allow", "Let the agent use the tool"));
        command.Subcommands.Add(Answer(context, "deny", "Refuse the tool use"));
        return command;
    }

    private static Command Answer(CliContext context, string behavior, string description)
    {
        var requestId = new Argument<string>("request-id") { Description = "The request_id of the permission_request event" };
        var command = new Command(behavior, description) { requestId };
        command.SetAction(context, async run =>
        {
            var result = await run.CallAsync("answer_permission", new JsonObject { ["request_id"] = run.Get(requestId), ["behavior"] = behavior });
            if (Reply.ErrorOf(result) is not null || run.Json)
            {
                return SessionCommands.ResultOrError(run, result);
            }

            var answer = Reply.Read(result, CliJson.Default.PermissionAnswerReply);
            await run.Out.WriteLineAsync(
                $"{behavior}: request {answer.RequestId} answered (event {answer.EventId} on {answer.Channel})");
            return CliApp.Ok;
        });
        return command;
    }
}
