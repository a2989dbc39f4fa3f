namespace EventBus.Server.Tools;

/// <summary>The MCP session a tool call arrived on: which bus session it is bound to, and how to bind it.</summary>
internal interface IToolSession
{
    /// <summary>The bus session this MCP session registered as, if any.</summary>
    string? BoundSessionId { get; }

    /// <summary>Binds (or rebinds) this MCP session to a bus session: later calls default to it and its stream gets its pushes.</summary>
    void Bind(string busSessionId);
}
