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
        return !exists || owner == caller.TokenId
            ? null
            : $"Forbidden: session {sessionId} belongs to another token; {caller.Describe()} may act only as its own sessions.";
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
    /// Registration under a token: the name must match the token's session pattern, and resuming (same machine and
    /// client_id) a session another token owns is refused.
    /// </summary>
    public async ValueTask<string?> CheckRegisterAsync(Caller caller, string name, string? machine, string? clientId, CancellationToken cancellationToken)
    {
        if (caller.Token is not { } token)
        {
            return null;
        }

        if (token.SessionPattern is { Length: > 0 } pattern && !Glob(pattern, name))
        {
            return $"Forbidden: {caller.Describe()} may only register sessions named like \"{pattern}\" (got \"{name}\").";
        }

        if (caller.IsAdmin || clientId is null)
        {
            return null;
        }

        foreach (var existing in await store.FindByClientIdAsync(clientId, machine ?? EventBus.Core.Sessions.RepoName.Unknown, cancellationToken))
        {
            if (existing.OwnerTokenId is { } owner && owner != token.TokenId)
            {
                return $"Forbidden: client_id \"{clientId}\" on machine \"{existing.Machine}\" is a session of another token.";
            }
        }

        return null;
    }

    /// <summary>Shell-style: <c>*</c> any run of characters, <c>?</c> one; everything else literal.</summary>
    internal static bool Glob(string pattern, string text)
    {
        var regex = "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal)
            .Replace("\\?", ".", StringComparison.Ordinal) + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(text, regex, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    }
}
