using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventBus.Cli.Client;

/// <summary>Tool results read back into the reply records the server writes them with (<see cref="CliJson"/>).</summary>
internal static class Reply
{
    /// <summary>Reads <paramref name="result"/> as <typeparamref name="T"/>.</summary>
    /// <exception cref="BusCallException">The result is not that reply (another shape, a wrong type): says what came.</exception>
    public static T Read<T>(JsonElement result, JsonTypeInfo<T> type)
    {
        try
        {
            return result.Deserialize(type) ?? throw new JsonException("it is null");
        }
        catch (JsonException ex)
        {
            throw new BusCallException($"the bus sent a reply this CLI cannot read as {Name(typeof(T))} ({ex.Message}): {Excerpt(result.GetRawText())}");
        }
    }

    /// <summary>The <c>error</c> of a refusal the tool returned as its result, else null.</summary>
    public static string? ErrorOf(JsonElement result) =>
        result.ValueKind == JsonValueKind.Object && Read(result, CliJson.Default.SuccessReply).Error is { } error
            ? error.ValueKind == JsonValueKind.String ? error.GetString() : error.GetRawText()
            : null;

    internal static string Excerpt(string text)
    {
        text = text.Trim().ReplaceLineEndings(" ");
        return text.Length <= 300 ? text : text[..300] + "…";
    }

    private static string Name(Type type) =>
        type.IsGenericType ? $"a list of {type.GetGenericArguments()[0].Name}" : "a " + type.Name;
}
