using System.Globalization;
using System.Text.Json;
using EventBus.Core.Bus;

namespace EventBus.Server.Tools;

/// <summary>
/// A tool's arguments, read with exact, helpful errors. JSON null counts as absent. Every string is read through
/// <see cref="Text"/>, the one place an argument that is not valid text (an unpaired surrogate) is refused by name.
/// </summary>
internal sealed class ToolArguments(string tool, IDictionary<string, JsonElement>? values)
{
    public static void RejectUnknown(string tool, IDictionary<string, JsonElement>? values, IReadOnlyCollection<string> known)
    {
        if (values is null)
        {
            return;
        }

        foreach (var key in values.Keys)
        {
            if (!known.Contains(key))
            {
                throw new ToolArgumentException(
                    $"{tool} has no parameter \"{key}\". Its parameters are: {string.Join(", ", known)}.");
            }
        }
    }

    /// <summary>True when the argument is present and not null.</summary>
    public bool Has(string name) => TryGet(name, out _);

    public string RequiredString(string name) =>
        OptionalString(name) ?? throw new ToolArgumentException($"{tool} needs \"{name}\" (a string).");

    public string? OptionalString(string name)
    {
        if (!TryGet(name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? Text(name, value)
            : throw WrongType(name, "a string", value);
    }

    /// <summary>A cursor: the decimal string of an event id; a JSON integer is accepted too.</summary>
    public string? OptionalCursor(string name)
    {
        if (!TryGet(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => Text(name, value),
            JsonValueKind.Number => value.GetRawText(),
            _ => throw WrongType(name, "a string like \"42\"", value),
        };
    }

    public int? OptionalInt(string name)
    {
        if (!TryGet(name, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        // Lenient like the old server: "50" means 50.
        if (value.ValueKind == JsonValueKind.String &&
            int.TryParse(Text(name, value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number))
        {
            return number;
        }

        throw WrongType(name, "an integer", value);
    }

    public bool OptionalBool(string name, bool defaultValue)
    {
        if (!TryGet(name, out var value))
        {
            return defaultValue;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when Text(name, value) is "true" => true,
            JsonValueKind.String when Text(name, value) is "false" => false,
            _ => throw WrongType(name, "true or false", value),
        };
    }

    public IReadOnlyList<string>? OptionalStringList(string name)
    {
        if (!TryGet(name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(name, "an array of strings", value);
        }

        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw WrongType(name, "an array of strings", value);
            }

            list.Add(Text($"{name}[{list.Count}]", item));
        }

        return list;
    }

    /// <summary>A JSON string argument's value; refused, by name, when it is not valid text.</summary>
    private string Text(string name, JsonElement value) =>
        TextRules.TryGetString(value, out var text)
            ? text!
            : throw new ToolArgumentException($"{tool}: {TextRules.UnpairedSurrogate($"\"{name}\"")}");

    private bool TryGet(string name, out JsonElement value)
    {
        if (values is not null && values.TryGetValue(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    private ToolArgumentException WrongType(string name, string expected, JsonElement value)
    {
        var raw = value.GetRawText();
        if (raw.Length > 40)
        {
            raw = raw[..40] + "…";
        }

        return new ToolArgumentException($"{tool}: \"{name}\" must be {expected} (got {raw}).");
    }
}

/// <summary>An argument of the wrong type or shape.</summary>
internal sealed class ToolArgumentException(string message) : Exception(message);
