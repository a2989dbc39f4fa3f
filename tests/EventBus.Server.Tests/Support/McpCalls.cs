using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace EventBus.Server.Tests.Support;

/// <summary>Calls tools and reads results the way the contract promises them.</summary>
internal static class McpCalls
{
    /// <summary>Calls a tool that must succeed (no isError) and returns <c>structuredContent.result</c>.</summary>
    public static async Task<JsonElement> CallAsync(this McpClient client, string tool, object? arguments = null)
    {
        var result = await client.CallToolAsync(tool, ToDictionary(arguments), cancellationToken: TestTimeouts.Token());
        result.IsError.Should().NotBe(true, because: TextOf(result));
        return ResultOf(result);
    }

    /// <summary>Calls a tool that must fail as a tool error; returns the error text.</summary>
    public static async Task<string> CallFailingAsync(this McpClient client, string tool, object? arguments = null)
    {
        var result = await client.CallToolAsync(tool, ToDictionary(arguments), cancellationToken: TestTimeouts.Token());
        result.IsError.Should().BeTrue(because: "the call should be refused, but it returned " + TextOf(result));
        ResultOf(result).GetProperty("error").GetString().Should().Be(TextOf(result));
        return TextOf(result);
    }

    public static JsonElement ResultOf(CallToolResult result)
    {
        result.StructuredContent.Should().NotBeNull();
        var structured = result.StructuredContent!.Value.GetProperty("result");
        if (result.IsError != true)
        {
            // The old CLI's fallback path: the same object as JSON text in content[0].text.
            var text = JsonDocument.Parse(TextOf(result)).RootElement;
            JsonElement.DeepEquals(text, structured).Should().BeTrue(because: "content[0].text must carry the same object");
        }

        return structured.Clone();
    }

    public static string TextOf(CallToolResult result) => ((TextContentBlock)result.Content[0]).Text;

    public static string Str(this JsonElement element, string property) => element.GetProperty(property).GetString()!;

    public static Dictionary<string, object?>? ToDictionary(object? arguments) =>
        arguments switch
        {
            null => null,
            Dictionary<string, object?> d => d,
            _ => JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments)),
        };
}
