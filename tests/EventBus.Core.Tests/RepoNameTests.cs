using EventBus.Core.Sessions;

namespace EventBus.Core.Tests;

public class RepoNameTests
{
    [Theory]
    [InlineData("/home/ada/src/eventbus", "eventbus")]
    [InlineData("/home/ada/src/eventbus/", "eventbus")]
    [InlineData("/home/ada/src/eventbus/.worktrees/feature-x", "eventbus")]
    [InlineData("/home/ada/src/eventbus/.worktrees/feature-x/sub/dir", "eventbus")]
    [InlineData("C:\\Users\\ada\\src\\tool", "tool")]
    [InlineData("relative/path/proj", "proj")]
    [InlineData("proj", "proj")]
    public void FromCwd_TakesTheRepoDirectory(string cwd, string expected) => RepoName.FromCwd(cwd).Should().Be(expected);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("/")]
    [InlineData("/.worktrees/x")]
    public void FromCwd_NothingToDerive_IsUnknown(string? cwd) => RepoName.FromCwd(cwd).Should().Be("unknown");
}
