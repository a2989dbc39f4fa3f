using EventBus.Core.Bus;
using EventBus.Server.Hosting;
using EventBus.Server.Tools;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Permissions;

/// <summary>The <c>answer_permission</c> tool: the same rules as <c>POST /api/v1/permissions/{request_id}</c>.</summary>
internal static class AnswerPermissionTool
{
    public const string Name = "answer_permission";

    public static BusTool Create(PermissionService permissions, IHttpContextAccessor http) => new(
        Name,
        "Answer a permission request",
        """
        Allow or deny a tool use another agent's Claude Code is waiting on (a permission_request event: its payload has
        request_id, tool_name, description and input_preview). Needs a token with the approve (or admin) scope; the
        requesting session itself may never answer. The first answer wins and is published as a permission_response
        event; a second is refused as already answered.
        """,
        new ToolSchema()
            .String("request_id", "The request_id from the permission_request event.", required: true, maxLength: BusOptions.MaxNameLength)
            .Enum("behavior", "allow or deny.", [PermissionEvents.Allow, PermissionEvents.Deny])
            .String("session_id", "The session you answer as (optional; recorded with the answer).", maxLength: BusOptions.MaxNameLength),
        new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false, DestructiveHint = false, OpenWorldHint = false },
        async (c, ct) =>
        {
            var behavior = c.Args.OptionalString("behavior") ?? throw new ToolArgumentException($"{Name} needs \"behavior\": allow or deny.");
            var local = http.HttpContext is { } context && CallerKey.IsLocalWithoutToken(context);
            var outcome = await permissions.AnswerAsync(
                c.Args.RequiredString("request_id"), behavior, c.Caller, local, c.SessionOr("session_id"), ct);
            return outcome.Reply is { } reply ? reply : throw new ToolArgumentException($"{Name}: {outcome.Message}");
        });
}
