using System.Globalization;
using EventBus.Cli.Claude;

namespace EventBus.Cli.Channel;

/// <summary>
/// The channel's durable delivery position for one bus session: the id of the last event it has handed to Claude
/// Code (or skipped as not wanted), in <c>&lt;state&gt;/channel/&lt;session_id&gt;.cursor</c>. Separate from the
/// session's read cursor on purpose: a channel message is a delivery, not proof the agent handled it (Claude Code
/// sends no acknowledgement, and drops channel messages silently when the launch did not enable channels), so the
/// read cursor is left for the agent's own <c>ack_events</c> and for the hooks.
/// </summary>
internal sealed class ChannelCursor(string path, TimeProvider time)
{
    private static readonly TimeSpan SaveEvery = TimeSpan.FromSeconds(1);
    private long _saved = -1;
    private long _lastSave = time.GetTimestamp();

    public static ChannelCursor For(string stateDirectory, string sessionId, TimeProvider time) =>
        new(System.IO.Path.Combine(stateDirectory, "channel", StateDirectory.FileName(sessionId, ".cursor")), time);

    public string Path { get; } = path;

    /// <summary>The last position in memory (saved or not).</summary>
    public long Position { get; private set; } = -1;

    /// <summary>The saved position, or null when this session has none yet.</summary>
    public long? Load()
    {
        var text = StateDirectory.TryRead(Path)?.Trim();
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            Position = _saved = value;
            return value;
        }

        return null;
    }

    /// <summary>Moves the position; saves at once when <paramref name="now"/>, else at most once a second.</summary>
    public void Advance(long id, bool now)
    {
        Position = Math.Max(Position, id);
        if (now || time.GetElapsedTime(_lastSave) >= SaveEvery)
        {
            Save();
        }
    }

    public void Save()
    {
        if (Position <= _saved)
        {
            return;
        }

        StateDirectory.WriteAtomically(Path, Position.ToString(CultureInfo.InvariantCulture) + "\n");
        _saved = Position;
        _lastSave = time.GetTimestamp();
    }
}
