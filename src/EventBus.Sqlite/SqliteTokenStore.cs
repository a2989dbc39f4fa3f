using Dapper;
using EventBus.Core.Security;

namespace EventBus.Sqlite;

/// <summary>The SQLite store's access tokens: created and revoked by <c>eventbus token</c> (on the database file), read by the server.</summary>
public sealed class SqliteTokenStore : ITokenStore
{
    private readonly SqliteDatabase _database;

    internal SqliteTokenStore(SqliteDatabase database) => _database = database;

    private const string SelectToken =
        """
        SELECT token_id AS TokenId, name AS Name, hash AS Hash, scope AS Scope, session_pattern AS SessionPattern,
               created_at_ms AS CreatedAtMs, expires_at_ms AS ExpiresAtMs, revoked_at_ms AS RevokedAtMs
        FROM tokens
        """;

    /// <inheritdoc />
    public async Task CreateTokenAsync(AccessToken token, CancellationToken cancellationToken)
    {
        try
        {
            await Writer.ExecuteAsync(w => w.Connection.Execute(
                """
                INSERT INTO tokens (token_id, name, hash, scope, session_pattern, created_at_ms, expires_at_ms, revoked_at_ms)
                VALUES (@TokenId, @Name, @Hash, @Scope, @SessionPattern, @Created, @Expires, NULL)
                """,
                new
                {
                    token.TokenId,
                    token.Name,
                    token.Hash,
                    Scope = (int)token.Scope,
                    token.SessionPattern,
                    Created = token.CreatedAt.ToUnixTimeMilliseconds(),
                    Expires = token.ExpiresAt?.ToUnixTimeMilliseconds(),
                },
                w.Transaction), cancellationToken);
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex) when (ex.SqliteErrorCode == 19 && ex.Message.Contains("tokens.name", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"a token named \"{token.Name}\" already exists (names are unique, revoked ones included).", ex);
        }
    }

    /// <inheritdoc />
    public Task<AccessToken?> FindTokenByHashAsync(string hash, CancellationToken cancellationToken) =>
        ReadAsync(c => c.QuerySingleOrDefault<TokenRow>(SelectToken + " WHERE hash = @Hash", new { Hash = hash })?.ToToken());

    /// <inheritdoc />
    public Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<AccessToken>>(c => c.Query<TokenRow>(SelectToken + " ORDER BY created_at_ms, name").Select(r => r.ToToken()).ToList());

    /// <inheritdoc />
    public Task<bool> RevokeTokenAsync(string idOrName, DateTimeOffset now, CancellationToken cancellationToken) =>
        Writer.ExecuteAsync(w => w.Connection.Execute(
            "UPDATE tokens SET revoked_at_ms = @Now WHERE (token_id = @Key OR name = @Key) AND revoked_at_ms IS NULL",
            new { Key = idOrName, Now = now.ToUnixTimeMilliseconds() }, w.Transaction) > 0, cancellationToken);

    /// <inheritdoc />
    public Task<int> CountUsableTokensAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalar<int>(
            "SELECT COUNT(*) FROM tokens WHERE revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > @Now)",
            new { Now = now.ToUnixTimeMilliseconds() }));

    /// <inheritdoc />
    public Task<int> CountTokensAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalar<int>("SELECT COUNT(*) FROM tokens"));

    private sealed class TokenRow
    {
        public string TokenId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Hash { get; set; } = "";

        public long Scope { get; set; }

        public string? SessionPattern { get; set; }

        public long CreatedAtMs { get; set; }

        public long? ExpiresAtMs { get; set; }

        public long? RevokedAtMs { get; set; }

        public AccessToken ToToken() => new(
            TokenId, Name, Hash, (TokenScope)Scope, SessionPattern, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs),
            ExpiresAtMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
            RevokedAtMs is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null);
    }

    private SqliteWriter Writer => _database.Writer;

    private Task<T> ReadAsync<T>(Func<Microsoft.Data.Sqlite.SqliteConnection, T> read) => _database.ReadAsync(read);
}
