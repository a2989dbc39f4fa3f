using System.Text.Encodings.Web;
using System.Text.Json;

namespace EventBus.Server.Tools;

/// <summary>How tool results are written: snake_case keys, readable (unescaped) text, nulls kept where the contract has them.</summary>
internal static class ToolJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
