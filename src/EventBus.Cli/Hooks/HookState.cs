using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Claude;

namespace EventBus.Cli.Hooks;

/// <summary>
/// What the hooks remember per Claude Code session, in <c>&lt;state&gt;/hooks/&lt;claude session id&gt;.json</c>:
/// how many times in a row the Stop hook blocked, and how many times the rewake hook woke the session since a person
/// last typed a prompt (both bound runaway loops, e.g. two agents answering each other forever).
/// </summary>
internal sealed class HookState
{
    private readonly string _path;

    private HookState(string path) => _path = path;

    public int Blocks { get; set; }

    public int Wakes { get; set; }

    public static HookState Load(string stateDirectory, string claudeSessionId)
    {
        var state = new HookState(Path.Combine(stateDirectory, "hooks", StateDirectory.FileName(claudeSessionId, ".json")));
        if (StateDirectory.TryRead(state._path) is { } text)
        {
            try
            {
                var json = JsonNode.Parse(text);
                state.Blocks = json?["blocks"]?.GetValue<int>() ?? 0;
                state.Wakes = json?["wakes"]?.GetValue<int>() ?? 0;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                // A damaged file counts as no history.
            }
        }

        return state;
    }

    public void Save() =>
        StateDirectory.WriteAtomically(_path, new JsonObject { ["blocks"] = Blocks, ["wakes"] = Wakes }.ToJsonString() + "\n");

    /// <summary>The rewake watcher's claim: only the newest watcher of a session stays; older ones exit quietly.</summary>
    public static string WatcherPath(string stateDirectory, string claudeSessionId) =>
        Path.Combine(stateDirectory, "hooks", StateDirectory.FileName(claudeSessionId, ".rewake"));
}
