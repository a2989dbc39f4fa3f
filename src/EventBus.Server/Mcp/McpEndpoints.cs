namespace EventBus.Server.Mcp;

/// <summary>Maps <c>/mcp</c>.</summary>
internal static class McpEndpoints
{
    public static RouteGroupBuilder MapMcp(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/mcp").ExcludeFromDescription();
        group.MapPost("", (HttpContext context, McpHttpHandler handler) => handler.PostAsync(context));
        group.MapGet("", (HttpContext context, McpHttpHandler handler) => handler.GetAsync(context));
        group.MapDelete("", (HttpContext context, McpHttpHandler handler) => handler.DeleteAsync(context));
        return group;
    }
}
