using System.Globalization;

namespace EventBus.Core.Events;

/// <summary>
/// A cursor is the decimal string of the highest event id a reader has seen; <c>0</c> is "before everything".
/// </summary>
public static class Cursor
{
    /// <summary>Parses a cursor: plain ASCII digits only, no sign, no spaces, within a 64-bit id.</summary>
    public static bool TryParse(string? text, out long cursor)
    {
        cursor = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 19)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out cursor);
    }

    /// <summary>The wire form of a cursor.</summary>
    public static string Format(long cursor) => cursor.ToString(CultureInfo.InvariantCulture);
}
