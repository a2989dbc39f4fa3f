using EventBus.Core.Events;

namespace EventBus.Core.Bus;

/// <summary>Input checks shared by every tool; each failure says which parameter and why.</summary>
internal static class Validate
{
    public static void Name(string? value, string parameter)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new BusValidationException($"{parameter} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            throw new BusValidationException($"{parameter} must not be blank.");
        }

        Line(value, BusOptions.MaxNameLength, parameter);
    }

    /// <summary>Free text on one line (a working directory): any length up to <paramref name="max"/>, no control characters.</summary>
    public static void Line(string value, int max, string parameter)
    {
        MaxLength(value, max, parameter);
        TextRules.Require(value, parameter);
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                throw new BusValidationException($"{parameter} must not contain control characters (got \"{Preview(value)}\").");
            }
        }
    }

    public static void MaxLength(string value, int max, string parameter)
    {
        if (value.Length > max)
        {
            throw new BusValidationException($"{parameter} is {value.Length} characters; the limit is {max}.");
        }
    }

    public static SignalLevel? OptionalLevel(string? value, string parameter)
    {
        if (value is null)
        {
            return null;
        }

        if (!SignalLevels.TryParse(value, out var level))
        {
            throw new BusValidationException(
                $"{parameter} must be one of {string.Join(", ", SignalLevels.Names)} (got \"{Preview(value)}\").");
        }

        return level;
    }

    /// <summary>A short, single-line rendering of bad input for an error message.</summary>
    public static string Preview(string value)
    {
        var shown = value.Length > 40 ? value[..40] + "…" : value;
        return new string(shown.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
