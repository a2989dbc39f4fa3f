using EventBus.Core.Security;

namespace EventBus.Server.Security;

/// <summary>The scope each tool needs. Publishing needs publish; answering permission requests needs approve; webhooks need admin; the rest reads.</summary>
internal static class ToolScopes
{
    private static readonly Dictionary<string, TokenScope> Needs = new(StringComparer.Ordinal)
    {
        ["publish_event"] = TokenScope.Publish,
        ["notify"] = TokenScope.Publish,
        ["answer_permission"] = TokenScope.Approve,
        ["register_webhook"] = TokenScope.Admin,
        ["list_webhooks"] = TokenScope.Admin,
        ["set_webhook_active"] = TokenScope.Admin,
        ["unregister_webhook"] = TokenScope.Admin,
        ["list_deliveries"] = TokenScope.Admin,
        ["redeliver"] = TokenScope.Admin,
    };

    public static TokenScope For(string tool) => Needs.GetValueOrDefault(tool, TokenScope.Read);

    /// <summary>Whether <paramref name="caller"/> may call <paramref name="tool"/>: tools/call and tools/list both ask this.</summary>
    public static bool Allows(Caller caller, string tool) => caller.Has(For(tool));
}
