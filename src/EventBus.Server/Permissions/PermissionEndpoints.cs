using EventBus.Server.Api;
using EventBus.Server.Hosting;
using EventBus.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EventBus.Server.Permissions;

/// <summary><c>POST /api/v1/permissions/{request_id}</c>: answer a permission request (allow or deny).</summary>
internal static class PermissionEndpoints
{
    public static IServiceCollection AddPermissions(this IServiceCollection services) =>
        services.AddHttpContextAccessor().AddSingleton<PermissionService>();

    public static RouteGroupBuilder MapPermissions(this WebApplication app)
    {
        var group = app.MapGroup("/api/v1/permissions").WithTags("Permissions");
        group.MapPost("/{requestId}", AnswerAsync)
            .WithName("AnswerPermission")
            .WithSummary("Answer an agent's permission request")
            .WithDescription(
                "Body {\"behavior\": \"allow\"|\"deny\", \"session_id\"?: the session you answer as}. Needs a token with the approve " +
                "(or admin) scope; on a bus without tokens, a caller on this machine. The requesting session may never answer. " +
                "The first answer is published as a permission_response event; later ones get 409.");
        return group;
    }

    /// <summary>The body of an answer.</summary>
    internal sealed record AnswerBody(string? Behavior, string? SessionId);

    private static async Task<Results<Ok<PermissionAnswerReply>, ProblemHttpResult>> AnswerAsync(
        string requestId, AnswerBody body, HttpContext context, PermissionService permissions, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await permissions.AnswerAsync(
                requestId, body.Behavior ?? "", Caller.Of(context), CallerKey.IsLocalWithoutToken(context), body.SessionId, cancellationToken);
            return outcome.Status switch
            {
                PermissionStatus.Answered => TypedResults.Ok(outcome.Reply),
                PermissionStatus.NotFound => TypedResults.Problem(outcome.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found"),
                PermissionStatus.Forbidden => TypedResults.Problem(outcome.Message, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden"),
                _ => TypedResults.Problem(outcome.Message, statusCode: StatusCodes.Status409Conflict, title: "Conflict"),
            };
        }
        catch (Core.Bus.BusValidationException ex)
        {
            return ApiProblems.BadRequest(ex.Message);
        }
    }
}
