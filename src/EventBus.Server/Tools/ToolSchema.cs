using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventBus.Server.Tools;

/// <summary>Builds a tool's JSON input schema, one documented parameter at a time.</summary>
internal sealed class ToolSchema
{
    private readonly JsonObject _properties = [];
    private readonly JsonArray _required = [];

    public IReadOnlyCollection<string> Names => _properties.Select(p => p.Key).ToList();

    public ToolSchema String(string name, string description, bool required = false, int? maxLength = null) =>
        Add(name, required, new JsonObject { ["type"] = "string", ["description"] = description, ["maxLength"] = maxLength });

    public ToolSchema Enum(string name, string description, IEnumerable<string> values, string? defaultValue = null) =>
        Add(name, false, new JsonObject
        {
            ["type"] = "string",
            ["description"] = description,
            ["enum"] = new JsonArray(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            ["default"] = defaultValue,
        });

    public ToolSchema Integer(string name, string description, int minimum, int maximum, int? defaultValue = null) =>
        Add(name, false, new JsonObject
        {
            ["type"] = "integer",
            ["description"] = description,
            ["minimum"] = minimum,
            ["maximum"] = maximum,
            ["default"] = defaultValue,
        });

    public ToolSchema Boolean(string name, string description, bool defaultValue = false, bool required = false) =>
        Add(name, required, new JsonObject
        {
            ["type"] = "boolean",
            ["description"] = description,
            ["default"] = required ? null : defaultValue,
        });

    public ToolSchema StringList(string name, string description) =>
        Add(name, false, new JsonObject
        {
            ["type"] = "array",
            ["items"] = new JsonObject { ["type"] = "string" },
            ["description"] = description,
        });

    public JsonElement Build()
    {
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = _properties.DeepClone(),
            ["additionalProperties"] = false,
        };
        if (_required.Count > 0)
        {
            schema["required"] = _required.DeepClone();
        }

        return JsonSerializer.SerializeToElement(schema);
    }

    private ToolSchema Add(string name, bool required, JsonObject property)
    {
        // Drop unset optional keywords (maxLength, default) rather than sending nulls.
        foreach (var key in property.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            property.Remove(key);
        }

        _properties[name] = property;
        if (required)
        {
            _required.Add(name);
        }

        return this;
    }
}
