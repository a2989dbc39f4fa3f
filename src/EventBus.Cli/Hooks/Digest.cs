using System.Text;
using EventBus.Cli.Claude;
using EventBus.Core.Events;
using EventBus.Server.Push;

namespace EventBus.Cli.Hooks;

/// <summary>
/// Events as a few short lines for the agent's context: the server's push line (who, what, where, the message), cut
/// short, marked when it is for this session, with the sender's direct channel to answer on (when the sender is a live
/// session). Claude Code moves
/// context over 10,000 characters into a file, so a digest stays far below that.
/// </summary>
internal static class Digest
{
    public const int MaxLineLength = 300;

    public static string Lines(IEnumerable<BusEvent> events, Interest interest, IReadOnlyDictionary<string, string> names)
    {
        var text = new StringBuilder();
        foreach (var e in events)
        {
            var from = names.GetValueOrDefault(e.SessionId, e.SessionId);
            var line = PushService.Content(e, from);
            if (line.Length > MaxLineLength)
            {
                line = line[..MaxLineLength] + $"… (get_events(cursor=\"{e.Id - 1}\", limit=1) has all of it)";
            }

            var mark = interest.IsDirected(e) ? "[to you] " : interest.IsUrgent(e) ? "[for you] " : "";
            text.Append("- #").Append(e.Id).Append(' ').Append(mark).Append(line);
            if (names.ContainsKey(e.SessionId) && !interest.IsOwn(e))
            {
                text.Append(" (answer on session:").Append(e.SessionId).Append(')');
            }

            text.Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }
}
