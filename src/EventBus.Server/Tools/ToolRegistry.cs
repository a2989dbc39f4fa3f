using System.Collections.Frozen;
using EventBus.Core.Bus;
using EventBus.Server.Webhooks;

namespace EventBus.Server.Tools;

/// <summary>The bus tools by name: one set of instances serves tools/list (through the SDK) and tools/call.</summary>
internal sealed class ToolRegistry(
    BusService bus, WebhookService webhooks, Permissions.PermissionService permissions, IHttpContextAccessor http,
    Microsoft.Extensions.Options.IOptions<Mcp.McpHttpOptions> mcp)
{
    public IReadOnlyList<BusTool> All { get; } =
    [
        .. BusToolCatalog.Create(bus, webhooks),
        Permissions.AnswerPermissionTool.Create(permissions, http),
        // The conformance suite's fixtures: only when a test run asks for them, never listed otherwise.
        .. mcp.Value.ConformanceFixtures ? [Mcp.Conformance.TestReconnectionTool.Create()] : Array.Empty<BusTool>(),
    ];

    private FrozenDictionary<string, BusTool>? _byName;

    public bool TryGet(string name, out BusTool tool) =>
        (_byName ??= All.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal)).TryGetValue(name, out tool!);
}
