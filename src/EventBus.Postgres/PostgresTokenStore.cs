using Dapper;
using EventBus.Core.Security;
using Npgsql;

namespace EventBus.Postgres;

/// <summary>The PostgreSQL store's access tokens, shared by every node.</summary>
public sealed class PostgresTokenStore : ITokenStore
{
    private readonly PostgresDatabase _database;

    internal PostgresTokenStore(PostgresDatabase database) => _database = database;

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
            await _database.Writer.ExecuteAsync(w => w.Connection.ExecuteAsync(
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
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "tokens_name_key")
        {
            throw new InvalidOperationException($"a token named \"{token.Name}\" already exists (names are unique, revoked ones included).", ex);
        }
    }

    /// <inheritdoc />
    public Task<AccessToken?> FindTokenByHashAsync(string hash, CancellationToken cancellationToken) =>
        _database.ReadAsync(async c => (await c.QuerySingleOrDefaultAsync<TokenRow>(SelectToken + " WHERE hash = @Hash", new { Hash = hash }))?.ToToken(),
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<AccessToken>>(async c => (await c.QueryAsync<TokenRow>(SelectToken + " ORDER BY created_at_ms, name COLLATE \"C\""))
            .Select(r => r.ToToken()).ToList(), cancellationToken);

    /// <inheritdoc />
    public Task<bool> RevokeTokenAsync(string idOrName, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.Writer.ExecuteAsync(async w => await w.Connection.ExecuteAsync(
            "UPDATE tokens SET revoked_at_ms = @Now WHERE (token_id = @Key OR name = @Key) AND revoked_at_ms IS NULL",
            new { Key = idOrName, Now = now.ToUnixTimeMilliseconds() }, w.Transaction) > 0, cancellationToken);

    /// <inheritdoc />
    public Task<int> CountUsableTokensAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.ReadAsync(c => c.ExecuteScalarAsync<int>(
            "SELECT COUNT(*)::int FROM tokens WHERE revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > @Now)",
            new { Now = now.ToUnixTimeMilliseconds() }), cancellationToken);

    /// <inheritdoc />
    public Task<int> CountTokensAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(c => c.ExecuteScalarAsync<int>("SELECT COUNT(*)::int FROM tokens"), cancellationToken);

    private sealed class TokenRow
    {
        public string TokenId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Hash { get; set; } = "";

        public int Scope { get; set; }

        public string? SessionPattern { get; set; }

        public long CreatedAtMs { get; set; }

        public long? ExpiresAtMs { get; set; }

        public long? RevokedAtMs { get; set; }

        public AccessToken ToToken() => new(
            TokenId, Name, Hash, (TokenScope)Scope, SessionPattern, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs),
            ExpiresAtMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
            RevokedAtMs is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null);
    }
}
