namespace EventBus.Server.Permissions;

/// <summary>
/// The events of the permission relay: a channel publishes a <see cref="RequestType"/> when Claude Code asks it to
/// relay a tool approval; the bus publishes a <see cref="ResponseType"/> when someone allowed to answers. Both carry the
/// correlation id <see cref="Correlation"/>, which is how the answer finds its request.
/// </summary>
public static class PermissionEvents
{
    public const string RequestType = "permission_request";

    /// <summary>Published only by the bus (<see cref="PermissionService"/>): <c>publish_event</c> refuses it.</summary>
    public const string ResponseType = Core.Bus.BusService.ReservedAnswerType;

    public const string Allow = "allow";

    public const string Deny = "deny";

    /// <summary>The correlation id of a request and its answer.</summary>
    public static string Correlation(string requestId) => "permission:" + requestId;
}
