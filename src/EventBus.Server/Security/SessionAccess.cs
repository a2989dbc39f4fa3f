using System.Collections.Concurrent;
using EventBus.Core.Channels;
using EventBus.Core.Store;

namespace EventBus.Server.Security;

/// <summary>
/// Who owns which session, and whether a caller may act as one. A session registered under a token belongs to it:
/// only that token, or an admin token, may publish as it, read or move its cursor, subscribe it, unregister it, or
/// bind to its push stream. Owners never change once set, so they are cached.
/// </summary>
internal sealed class SessionAccess(IEventStore store)
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the session exists, and the token that owns it (null: unowned). Owners never change once set, so a
    /// known one answers without a read (this is on every publish of a token).
    /// </summary>
    private async ValueTask<(bool Exists, string? Owner)> LookupAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (_owners.TryGetValue(sessionId, out var owner))
        {
            return (true, owner);
        }

        var session = await store.GetSessionAsync(sessionId, cancellationToken);
        if (session?.OwnerTokenId is { } found)
        {
            _owners[sessionId] = found;
        }

        return (session is not null, session?.OwnerTokenId);
    }

    /// <summary>Null when the caller may act as the session (or it does not exist: the tool says so); else why not.</summary>
    public async ValueTask<string?> CheckAsync(Caller caller, string sessionId, CancellationToken cancellationToken)
    {
        if (caller.IsAdmin)
        {
            return null;
        }

        var (exists, owner) = await LookupAsync(sessionId, cancellationToken);
        return !exists || caller.Actor.MayActAs(owner) ? null : caller.Actor.Refusal(sessionId);
    }

    /// <summary>Whether a non-admin caller may see this event (direct messages: only their recipient's and sender's owners).</summary>
    public async ValueTask<bool> MaySeeAsync(Caller caller, string channel, string senderSessionId, CancellationToken cancellationToken)
    {
        if (caller.DirectMessageFilter is not { } token || !channel.StartsWith(ChannelName.DirectPrefix, StringComparison.Ordinal))
        {
            return true;
        }

        return (await LookupAsync(channel[ChannelName.DirectPrefix.Length..], cancellationToken)).Owner == token ||
               (await LookupAsync(senderSessionId, cancellationToken)).Owner == token;
    }

    /// <summary>
    /// Registration under a token: the name must match the token's session pattern. (Whether the identity may be
    /// resumed is the store's to decide, in the same transaction: see <see cref="RegisterRequest.MayResumeAnyOwner"/>.)
    /// </summary>
    public static string? CheckRegisterName(Caller caller, string name) =>
        caller.Token is { SessionPattern: { Length: > 0 } pattern } && !Glob(pattern, name)
            ? $"Forbidden: {caller.Describe()} may only register sessions named like \"{pattern}\" (got \"{name}\")."
            : null;

    /// <summary>Shell-style: <c>*</c> any run of characters, <c>?</c> one; everything else literal.</summary>
    internal static bool Glob(string pattern, string text)
    {
        var regex = "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal)
            .Replace("\\?", ".", StringComparison.Ordinal) + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(text, regex, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    }
}
