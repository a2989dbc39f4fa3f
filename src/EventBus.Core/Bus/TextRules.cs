using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace EventBus.Core.Bus;

/// <summary>
/// The one rule for text on every transport: invalid text is refused, never repaired. A request body must be valid
/// UTF-8, and no string may hold an unpaired surrogate (JSON can carry one as <c>"\ud800"</c>). Nothing is stored with
/// U+FFFD in place of what was sent.
/// </summary>
public static class TextRules
{
    /// <summary>The offset of the first byte that is not part of well-formed UTF-8, or -1 when all of it is.</summary>
    public static int FirstInvalidUtf8Byte(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes))
        {
            return -1;
        }

        var offset = 0;
        while (offset < bytes.Length)
        {
            // A truncated sequence at the end (NeedMoreData) is as invalid as a bad one.
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return -1;
    }

    /// <summary>What to tell a client whose body is not UTF-8.</summary>
    public static string NotUtf8(int offset) => $"the body is not valid UTF-8 (at byte {offset})";

    /// <summary>The index of the first unpaired surrogate in <paramref name="text"/>, or -1.</summary>
    public static int FirstUnpairedSurrogate(ReadOnlySpan<char> text)
    {
        var i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        while (i >= 0 && i < text.Length)
        {
            if (!char.IsHighSurrogate(text[i]) || i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1]))
            {
                return i;
            }

            var next = text[(i + 2)..].IndexOfAnyInRange('\uD800', '\uDFFF');
            i = next < 0 ? -1 : i + 2 + next;
        }

        return -1;
    }

    /// <summary>What to tell a client whose <paramref name="what"/> holds an unpaired surrogate.</summary>
    public static string UnpairedSurrogate(string what) =>
        $"{what} contains an unpaired surrogate (a \\uD800-\\uDFFF escape without its pair), which is not valid text; " +
        "send characters as UTF-8, or as a surrogate pair.";

    /// <summary>Refuses a string that holds an unpaired surrogate.</summary>
    /// <exception cref="BusValidationException">It does; the message names <paramref name="parameter"/>.</exception>
    public static void Require(string? value, string parameter)
    {
        if (value is not null && FirstUnpairedSurrogate(value) >= 0)
        {
            throw new BusValidationException(UnpairedSurrogate(parameter));
        }
    }

    /// <summary>
    /// A JSON string's value, or false when it is not valid text: System.Text.Json refuses to decode an unpaired
    /// surrogate escape (<see cref="InvalidOperationException"/>) rather than hand out a broken string.
    /// </summary>
    public static bool TryGetString(JsonElement element, out string? value)
    {
        try
        {
            value = element.GetString();
            return true;
        }
        catch (InvalidOperationException) when (element.ValueKind == JsonValueKind.String)
        {
            value = null;
            return false;
        }
    }

    /// <summary>A property's name, or false when it is not valid text.</summary>
    public static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }

    /// <summary>
    /// Where in <paramref name="element"/> the first string or property name that is not valid text is
    /// (<c>$.alerts[0].labels.alertname</c>, or <c>a property name in $.alerts[0]</c>), or null when there is none.
    /// </summary>
    /// <param name="element">The JSON to look through.</param>
    /// <param name="path">The name of <paramref name="element"/> itself in the answer ("" names members bare: <c>method</c>).</param>
    /// <param name="skip">Paths whose values are not looked at (their owners check them, naming them better).</param>
    public static string? FindInvalidText(JsonElement element, string path = "$", Func<string, bool>? skip = null)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return TryGetString(element, out _) ? null : path;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindInvalidText(item, $"{path}[{index++}]", skip) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!TryGetName(property, out var name))
                    {
                        return "a property name in " + (path.Length == 0 ? "the top-level object" : path);
                    }

                    var inner = path.Length == 0 ? name : $"{path}.{name}";
                    if (skip?.Invoke(inner) != true && FindInvalidText(property.Value, inner, skip) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// False only when <paramref name="json"/> certainly has no surrogate escape (<c>\uD800</c>-<c>\uDFFF</c>): the
    /// cheap test that lets well-formed requests skip <see cref="FindInvalidText"/>. Valid UTF-8 cannot encode a
    /// surrogate, so in a valid body an escape is the only way one gets in.
    /// </summary>
    public static bool MayHaveSurrogateEscape(ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf("\\u"u8);
        while (at >= 0)
        {
            var rest = json[(at + 2)..];
            if (rest.Length >= 2 && rest[0] is (byte)'d' or (byte)'D' && rest[1] is >= (byte)'8' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F')
            {
                return true;
            }

            var next = rest.IndexOf("\\u"u8);
            at = next < 0 ? -1 : at + 2 + next;
        }

        return false;
    }
}
