using System.Text.Json;
using EventBus.Cli.Client;

namespace EventBus.Cli.Hooks;

/// <summary>
/// The JSON Claude Code writes on a hook's stdin: <c>session_id</c>, <c>cwd</c>, <c>hook_event_name</c>, and per event
/// <c>source</c> (SessionStart), <c>prompt</c> (UserPromptSubmit), <c>stop_hook_active</c> (Stop).
/// </summary>
internal sealed record HookInput(string? SessionId, string? Cwd, string? HookEventName, string? Source, bool StopHookActive)
{
    /// <summary>Parses the input; empty input is allowed (the environment then says who we are).</summary>
    /// <exception cref="FormatException">The input is not a JSON object.</exception>
    public static HookInput Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new HookInput(null, null, null, null, false);
        }

        JsonElement root;
        try
        {
            root = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"the hook input on stdin is not JSON ({ex.Message})");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"the hook input on stdin must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}");
        }

        HookStdin input;
        try
        {
            input = root.Deserialize(CliJson.Default.HookStdin)!;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"the hook input on stdin is not what Claude Code sends ({ex.Message})");
        }

        static string? Str(string? s) => s is { Length: > 0 } ? s : null;
        return new HookInput(Str(input.SessionId), Str(input.Cwd), Str(input.HookEventName), Str(input.Source), input.StopHookActive == true);
    }
}
