using EventBus.Server.Tests.Support;

namespace EventBus.Server.Tests.Webhooks;

/// <summary>The keys that decrypt webhook secrets: beside the database, readable by this user only.</summary>
[Trait("Store", "SqliteOnly")] // keys in files beside the database; the Postgres store keeps them in the database
public sealed class WebhookKeyTests
{
    [Fact]
    public async Task Keys_AreOwnerOnly_EvenThoseWrittenBefore()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var directory = Path.Combine(Path.GetTempPath(), "eventbus-tests", Guid.NewGuid().ToString("N"));
        var keys = Directory.CreateDirectory(Path.Combine(directory, "keys"));
        keys.UnixFileMode = (UnixFileMode)0b111_101_101; // 0755, as an older version left it
        var old = Path.Combine(keys.FullName, "old-note.xml");
        await File.WriteAllTextAsync(old, "<note />");
        File.SetUnixFileMode(old, (UnixFileMode)0b110_100_100); // 0644

        await using var host = await BusHost.StartInAsync(directory, false, "--EventBus:Webhooks:AllowPrivateNetworks=true");
        var client = await host.ConnectAsync();
        await client.CallAsync("register_webhook", new { url = "http://127.0.0.1:9/hook" });

        new DirectoryInfo(keys.FullName).UnixFileMode.Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var files = keys.GetFiles("*.xml");
        files.Should().Contain(f => f.Name.StartsWith("key-", StringComparison.Ordinal), "a key was made to protect the secret");
        files.Should().AllSatisfy(f => f.UnixFileMode.Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, f.Name));
    }
}
