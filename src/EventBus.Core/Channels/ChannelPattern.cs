using EventBus.Core.Bus;

namespace EventBus.Core.Channels;

/// <summary>
/// A subscription pattern over <c>:</c>-separated channel segments: <c>*</c> matches exactly one segment,
/// a final <c>#</c> matches any depth (including none: <c>alerts:#</c> matches <c>alerts</c> and
/// <c>alerts:disk:sda</c>), anything else matches itself exactly.
/// </summary>
public sealed class ChannelPattern
{
    private readonly string[] _segments;

    private ChannelPattern(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Parses a pattern; throws <see cref="BusValidationException"/> saying what is wrong.</summary>
    public static ChannelPattern Parse(string text)
    {
        Validate.Name(text, "channel");
        var segments = text.Split(':');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment == "#" && i != segments.Length - 1)
            {
                throw new BusValidationException($"channel pattern \"{text}\": '#' (any depth) may only be the last segment.");
            }

            if (segment.Length > 1 && (segment.Contains('*', StringComparison.Ordinal) || segment.Contains('#', StringComparison.Ordinal)))
            {
                throw new BusValidationException(
                    $"channel pattern \"{text}\": a wildcard must be a whole segment, like \"repo:*\" or \"alerts:#\" (got \"{segment}\").");
            }
        }

        return new ChannelPattern(text, segments);
    }

    /// <summary>True when <paramref name="channel"/> matches.</summary>
    public bool Matches(string channel)
    {
        var position = 0;
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            if (segment == "#")
            {
                return true;
            }

            if (position > channel.Length)
            {
                return false;
            }

            var end = channel.IndexOf(':', position);
            var last = end < 0;
            var length = (last ? channel.Length : end) - position;
            var matches = segment == "*" ? true : channel.AsSpan(position, length).SequenceEqual(segment);
            if (!matches)
            {
                return false;
            }

            var isLastPatternSegment = i == _segments.Length - 1;
            if (last)
            {
                // The channel has no more segments: match only if the pattern is done or continues with '#'.
                return isLastPatternSegment || (i == _segments.Length - 2 && _segments[^1] == "#");
            }

            if (isLastPatternSegment)
            {
                return false;
            }

            position = end + 1;
        }

        return false;
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
