using System.Text.Json.Nodes;
using ModelContextProtocol.Server;

namespace EventBus.Cli.Channel;

/// <summary>Where <see cref="ChannelPump"/> sends what it delivers: Claude Code over MCP (the channel), or stdout lines (the monitor).</summary>
internal interface IDeliveryTarget
{
    /// <summary>Sends one notification (<c>notifications/claude/channel</c>, or the permission relay's answer).</summary>
    Task NotifyAsync(string method, JsonObject parameters, CancellationToken cancellationToken);
}

/// <summary>The channel's target: MCP notifications to Claude Code.</summary>
internal sealed class McpDeliveryTarget(McpServer server) : IDeliveryTarget
{
    public Task NotifyAsync(string method, JsonObject parameters, CancellationToken cancellationToken) =>
        server.SendNotificationAsync(method, parameters, cancellationToken: cancellationToken);
}
