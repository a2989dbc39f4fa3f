using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventBus.Cli.Client;

namespace EventBus.Cli.Setup;

/// <summary>A JSON settings file edited in place: read (or start empty), change, show the difference, write atomically.</summary>
internal sealed class JsonFile
{
    private JsonFile(string path, bool exists, string original, JsonObject document)
    {
        Path = path;
        Exists = exists;
        Original = original;
        Document = document;
    }

    public string Path { get; }

    public bool Exists { get; }

    public string Original { get; }

    public JsonObject Document { get; }

    /// <summary>The document as it would be written.</summary>
    public string Text => Document.ToJsonString(ClaudeConfig.WriteOptions) + "\n";

    public bool Changed => !Exists ? Document.Count > 0 : !JsonNode.DeepEquals(JsonNode.Parse(Original), Document);

    /// <summary>Reads the file; a file that is not a JSON object is refused (never overwritten).</summary>
    public static JsonFile Load(string path)
    {
        if (!File.Exists(path))
        {
            return new JsonFile(path, false, "", []);
        }

        var text = File.ReadAllText(path);
        if (string.IsNullOrWhiteSpace(text))
        {
            return new JsonFile(path, true, "{}", []);
        }

        try
        {
            var node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return node is JsonObject document
                ? new JsonFile(path, true, text, document)
                : throw new BusCallException($"{path} is not a JSON object; fix or move it, then run this again (it was not changed).");
        }
        catch (JsonException ex)
        {
            throw new BusCallException($"{path} is not valid JSON ({ex.Message}); fix or move it, then run this again (it was not changed).");
        }
    }

    /// <summary>Writes through a temporary file and a rename, so a crash never leaves half a file.</summary>
    public void Save()
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        var temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(Path)}.{Environment.ProcessId}.tmp");
        File.WriteAllText(temp, Text, new UTF8Encoding(false));
        if (Exists && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, File.GetUnixFileMode(Path));
        }

        File.Move(temp, Path, overwrite: true);
    }

    /// <summary>A line diff of the change (unchanged lines around it trimmed to a little context).</summary>
    public string Diff()
    {
        var before = Exists ? JsonNode.Parse(Original)!.ToJsonString(ClaudeConfig.WriteOptions).Split('\n') : [];
        var after = Text.TrimEnd('\n').Split('\n');
        var text = new StringBuilder();
        text.Append("--- ").Append(Path).Append(Exists ? "" : " (new file)").Append('\n');
        text.Append("+++ ").Append(Path).Append('\n');

        var prefix = 0;
        while (prefix < before.Length && prefix < after.Length && before[prefix] == after[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < before.Length - prefix && suffix < after.Length - prefix && before[^(suffix + 1)] == after[^(suffix + 1)])
        {
            suffix++;
        }

        const int context = 2;
        for (var i = Math.Max(0, prefix - context); i < prefix; i++)
        {
            text.Append("  ").Append(before[i]).Append('\n');
        }

        for (var i = prefix; i < before.Length - suffix; i++)
        {
            text.Append("- ").Append(before[i]).Append('\n');
        }

        for (var i = prefix; i < after.Length - suffix; i++)
        {
            text.Append("+ ").Append(after[i]).Append('\n');
        }

        for (var i = after.Length - suffix; i < Math.Min(after.Length, after.Length - suffix + context); i++)
        {
            text.Append("  ").Append(after[i]).Append('\n');
        }

        return text.ToString();
    }
}
