using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using EventBus.Core.Security;
using EventBus.Postgres;
using EventBus.Sqlite;

namespace EventBus.Cli.Commands;

/// <summary>
/// <c>eventbus token create|list|revoke</c>: access tokens, managed on the bus host directly in its database file (so a
/// token can exist before a network bind starts, and a lost admin token can always be replaced by whoever owns the
/// file). The server notices new and revoked tokens within a second.
/// </summary>
internal static class TokenCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("token", "Access tokens for a bus bound to the network (run on the bus host)");
        command.Subcommands.Add(New(context));
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Revoke(context));
        return command;
    }

    private static Option<string?> Db() =>
        new("--db") { Description = "The bus's database file or postgres:// URL (default $EVENTBUS_DB, else ~/.local/share/eventbus/bus.db)" };

    private static Command New(CliContext context)
    {
        var name = new Option<string>("--name") { Description = "A name for who uses it, e.g. laptop or ci (unique)", Required = true };
        var scope = new Option<string>("--scope") { Description = "read, publish (read + publish), approve (publish + answer permission requests) or admin (everything)", Required = true };
        scope.AcceptOnlyFromAmong("read", "publish", "approve", "admin");
        var pattern = new Option<string?>("--session-pattern") { Description = "Only sessions named like this may be registered with it (* and ? wildcards)" };
        var expires = new Option<string?>("--expires") { Description = "Lifetime: 30d, 12h, 90m (default: never)" };
        var db = Db();
        var command = new Command("create", "Create a token and print it (once: only its hash is stored)") { name, scope, pattern, expires, db };
        command.SetAction(context, async run =>
        {
            var now = run.Context.Time.GetUtcNow();
            DateTimeOffset? expiry = null;
            if (run.Get(expires) is { } text)
            {
                if (!TryDuration(text, out var lifetime))
                {
                    await run.Error.WriteLineAsync($"--expires must be a number and a unit, like 30d, 12h or 90m (got \"{text}\").");
                    return CliApp.Usage;
                }

                expiry = now + lifetime;
            }

            TokenSecrets.TryParseScope(run.Get(scope), out var parsed);
            var secret = TokenSecrets.NewSecret();
            var token = new AccessToken(TokenSecrets.NewId(), run.Get(name)!, TokenSecrets.Hash(secret), parsed, run.Get(pattern), now, expiry, null);
            await using var store = await OpenAsync(run, db);
            try
            {
                await store.Tokens.CreateTokenAsync(token, run.CancellationToken);
            }
            catch (InvalidOperationException ex)
            {
                await run.Error.WriteLineAsync($"Failed: {ex.Message}");
                return CliApp.Failed;
            }

            if (run.Json)
            {
                run.WriteJson(new JsonObject
                {
                    ["token_id"] = token.TokenId,
                    ["name"] = token.Name,
                    ["scope"] = TokenSecrets.ScopeName(token.Scope),
                    ["token"] = secret,
                    ["expires_at"] = expiry?.ToString("O", CultureInfo.InvariantCulture),
                });
                return CliApp.Ok;
            }

            await run.Out.WriteLineAsync(secret);
            await run.Error.WriteLineAsync(
                $"Token \"{token.Name}\" ({TokenSecrets.ScopeName(token.Scope)}{(expiry is { } e ? $", expires {e:u}" : "")}) created: it is shown only now. Use it as\n" +
                $"  EVENTBUS_TOKEN={secret} eventbus ...\n" +
                $"  claude mcp add --transport http eventbus http://<bus-host>:8080/mcp --header \"Authorization: Bearer {secret}\"");
            return CliApp.Ok;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var db = Db();
        var command = new Command("list", "List tokens (never their secrets)") { db };
        command.SetAction(context, async run =>
        {
            await using var store = await OpenAsync(run, db);
            var tokens = await store.Tokens.ListTokensAsync(run.CancellationToken);
            var now = run.Context.Time.GetUtcNow();
            if (run.Json)
            {
                run.WriteJson(new JsonObject
                {
                    ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)new JsonObject
                    {
                        ["token_id"] = t.TokenId,
                        ["name"] = t.Name,
                        ["scope"] = TokenSecrets.ScopeName(t.Scope),
                        ["session_pattern"] = t.SessionPattern,
                        ["created_at"] = t.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                        ["expires_at"] = t.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture),
                        ["revoked_at"] = t.RevokedAt?.ToString("O", CultureInfo.InvariantCulture),
                        ["usable"] = t.IsUsable(now),
                    })]),
                });
                return CliApp.Ok;
            }

            if (tokens.Count == 0)
            {
                await run.Out.WriteLineAsync("No tokens (a loopback bus then needs none)");
                return CliApp.Ok;
            }

            foreach (var t in tokens)
            {
                var state = t.RevokedAt is { } r ? $"revoked {r:u}" : t.ExpiresAt is { } e ? (e <= now ? $"expired {e:u}" : $"expires {e:u}") : "no expiry";
                await run.Out.WriteLineAsync(
                    $"  {t.TokenId}  {t.Name,-20} {TokenSecrets.ScopeName(t.Scope),-8} {state}{(t.SessionPattern is { } p ? $"  sessions: {p}" : "")}");
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Command Revoke(CliContext context)
    {
        var which = new Argument<string>("token") { Description = "The token's id (tok_…) or name" };
        var db = Db();
        var command = new Command("revoke", "Revoke a token (the bus refuses it within a second)") { which, db };
        command.SetAction(context, async run =>
        {
            await using var store = await OpenAsync(run, db);
            if (!await store.Tokens.RevokeTokenAsync(run.Get(which)!, run.Context.Time.GetUtcNow(), run.CancellationToken))
            {
                await run.Error.WriteLineAsync($"Failed: no usable token with id or name \"{run.Get(which)}\"");
                return CliApp.Failed;
            }

            await run.Out.WriteLineAsync($"Token {run.Get(which)} revoked");
            return CliApp.Ok;
        });
        return command;
    }

    private static async Task<OpenTokens> OpenAsync(Invocation run, Option<string?> db)
    {
        var path = run.Get(db) ?? run.Context.Environment("EVENTBUS_DB") ?? SqliteStoreOptions.DefaultPath();
        if (PostgresStoreOptions.IsPostgresUrl(path))
        {
            var shared = new PostgresStore(new PostgresStoreOptions { Path = path });
            await shared.InitializeAsync(run.CancellationToken);
            return new OpenTokens(shared.Tokens, shared);
        }

        var store = new SqliteStore(new SqliteStoreOptions { Path = path });
        await store.InitializeAsync(run.CancellationToken);
        return new OpenTokens(store.Tokens, store);
    }

    /// <summary>The token table of whichever store the path names, and what closes it.</summary>
    private sealed record OpenTokens(ITokenStore Tokens, IAsyncDisposable Store) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Store.DisposeAsync();
    }

    private static bool TryDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length < 2 || !int.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }

        duration = char.ToLowerInvariant(text[^1]) switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            _ => TimeSpan.Zero,
        };
        return duration > TimeSpan.Zero;
    }
}
