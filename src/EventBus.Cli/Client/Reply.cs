using System.Text.Json;
using EventBus.Server.Tools;

namespace EventBus.Cli.Client;

/// <summary>Tool results read back into Core's reply records, with the options the server writes them with.</summary>
internal static class Reply
{
    /// <exception cref="JsonException">The result is not that reply (an error object, another shape).</exception>
    public static T Read<T>(JsonElement result) =>
        result.Deserialize<T>(ToolJson.Options) ?? throw new JsonException($"expected a {typeof(T).Name}, got null");
}
