using System.Globalization;
using System.Text;

namespace EventBus.Server.Tests.Fuzz;

/// <summary>
/// Random JSON text, written by hand so it can hold what no serializer writes: unpaired surrogate escapes, raw control
/// characters, huge numbers, wrong types, deep nesting. Deterministic for a seed.
/// </summary>
internal sealed class FuzzInput(Random random)
{
    private static readonly string[] Pieces =
    [
        "a", "info", "all", "42", "true", "asc", "session:x", "repo:eventbus", " ", "  ", "\\t", "\\n", "\\r",
        "\\u0000", "\\u001f", "\\u007f", "\\\"", "\\\\", "/", "\\/", "😀", "\\ud83d\\ude00", "𝄞",
        "\\ud800", "\\udfff", "\\ude00\\ud83d", "\\ud83d", "\\uD800x", "e\u0301", "\u202e", "\ufeff", "\\uffff", "\u00e9",
        "中文", "%00", "'; DROP TABLE events; --", "${x}", "..", "../../etc/passwd",
    ];

    private static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "42", "1.5", "-2.25", "0.0000001", "1e3", "1E+2", "1e400", "-1e400", "1e-400",
        "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
        "123456789012345678901234567890123456789", "-99999999999999999999.5",
    ];

    public int Next(int max) => random.Next(max);

    public bool Chance(double p) => random.NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>Any JSON value, as text; mostly strings, since strings are what the tools take.</summary>
    public string Value(int depth = 2) => random.Next(14) switch
    {
        < 6 => String(),
        6 or 7 => Pick(Numbers),
        8 => Chance(0.5) ? "true" : "false",
        9 => "null",
        10 when depth > 0 => Array(depth - 1),
        11 when depth > 0 => Object(depth - 1),
        12 => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => String())) + "]",
        _ => String(),
    };

    /// <summary>A JSON string literal, quotes included, built from awkward pieces (some of them invalid text).</summary>
    public string String()
    {
        var text = new StringBuilder("\"");
        if (Chance(0.02))
        {
            // Longer than any name, title or default payload limit.
            text.Append('x', random.Next(300, 70_000));
        }

        var count = random.Next(6);
        for (var i = 0; i < count; i++)
        {
            text.Append(Chance(0.1) ? RawControl() : Pick(Pieces));
        }

        return text.Append('"').ToString();
    }

    public string Array(int depth) => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => Value(depth))) + "]";

    public string Object(int depth) =>
        "{" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => $"{String()}:{Value(depth)}")) + "}";

    /// <summary>An object with some of <paramref name="names"/> (random values) and perhaps a stranger.</summary>
    public string ObjectWith(IReadOnlyList<string> names, Func<string, string>? valueFor = null)
    {
        var members = names.Where(_ => Chance(0.6)).Select(n => $"\"{n}\":{(valueFor is null ? Value() : valueFor(n))}").ToList();
        if (Chance(0.1))
        {
            members.Add($"{String()}:{Value()}");
        }

        return "{" + string.Join(",", members) + "}";
    }

    /// <summary>Random bytes, often not UTF-8, sometimes a valid JSON start with garbage after it.</summary>
    public byte[] Bytes()
    {
        var bytes = new byte[random.Next(0, 200)];
        random.NextBytes(bytes);
        return Chance(0.5) ? [.. "{\"event_type\":\"x\",\"payload\":\""u8, .. bytes, .. "\"}"u8] : bytes;
    }

    /// <summary>A raw control character inside a JSON string: invalid JSON, which must be a 400.</summary>
    private string RawControl() => ((char)random.Next(0, 0x20)).ToString(CultureInfo.InvariantCulture);
}
