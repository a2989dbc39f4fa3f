using System.Net;
using System.Text;
using EventBus.Core.Webhooks;

namespace EventBus.Core.Tests;

/// <summary>Signatures pinned by published test vectors; the SSRF address rules; the retry schedule; filters.</summary>
public sealed class WebhookSignatureTests
{
    // The Standard Webhooks specification's example (standard-webhooks.com, spec "Signature scheme" test values).
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long SpecTimestamp = 1614265330;
    private const string SpecBody = """{"test": 2432232314}""";
    private const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    // GitHub's documented example ("Validating webhook deliveries": secret, payload, X-Hub-Signature-256).
    private const string GitHubSecret = "It's a Secret to Everybody";
    private const string GitHubBody = "Hello, World!";
    private const string GitHubSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    [Fact]
    public void StandardSignature_MatchesTheSpecsTestVector()
    {
        WebhookSignatures.Standard(WebhookSignatures.StandardKey(SpecSecret), SpecId, SpecTimestamp, Encoding.UTF8.GetBytes(SpecBody))
            .Should().Be(SpecSignature);
    }

    [Fact]
    public void VerifyStandard_AcceptsTheSpecsVector_AndRefusesTamperingAndStaleTimestamps()
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(SpecTimestamp);
        var body = Encoding.UTF8.GetBytes(SpecBody);
        var tolerance = TimeSpan.FromMinutes(5);
        WebhookSignatures.VerifyStandard(SpecSecret, SpecId, "1614265330", SpecSignature, body, at, tolerance).Should().BeTrue();
        WebhookSignatures.VerifyStandard(SpecSecret, SpecId, "1614265330", "v1,bogus " + SpecSignature, body, at, tolerance).Should().BeTrue("any listed signature may match");
        WebhookSignatures.VerifyStandard(SpecSecret, SpecId, "1614265330", SpecSignature, Encoding.UTF8.GetBytes("""{"test": 2432232315}"""), at, tolerance).Should().BeFalse();
        WebhookSignatures.VerifyStandard(SpecSecret, "msg_other", "1614265330", SpecSignature, body, at, tolerance).Should().BeFalse();
        WebhookSignatures.VerifyStandard(SpecSecret, SpecId, "1614265330", SpecSignature, body, at.AddMinutes(6), tolerance).Should().BeFalse("a replay of an old request");
        WebhookSignatures.VerifyStandard("whsec_" + Convert.ToBase64String(new byte[24]), SpecId, "1614265330", SpecSignature, body, at, tolerance).Should().BeFalse();
    }

    [Fact]
    public void Sha256Hex_MatchesGitHubsDocumentedExample()
    {
        WebhookSignatures.Sha256Hex(GitHubSecret, Encoding.UTF8.GetBytes(GitHubBody)).Should().Be(GitHubSignature);
        WebhookSignatures.VerifySha256Hex(GitHubSecret, GitHubSignature, Encoding.UTF8.GetBytes(GitHubBody)).Should().BeTrue();
        WebhookSignatures.VerifySha256Hex(GitHubSecret, GitHubSignature.ToUpperInvariant().Replace("SHA256=", "sha256=", StringComparison.Ordinal), Encoding.UTF8.GetBytes(GitHubBody)).Should().BeTrue();
        WebhookSignatures.VerifySha256Hex(GitHubSecret, GitHubSignature, Encoding.UTF8.GetBytes("Hello, World?")).Should().BeFalse();
        WebhookSignatures.VerifySha256Hex("another secret", GitHubSignature, Encoding.UTF8.GetBytes(GitHubBody)).Should().BeFalse();
        WebhookSignatures.VerifySha256Hex(GitHubSecret, null, Encoding.UTF8.GetBytes(GitHubBody)).Should().BeFalse();
    }

    [Fact]
    public void GeneratedSecrets_AreWhsecPlus32RandomBytes()
    {
        var a = WebhookSignatures.GenerateSecret();
        a.Should().StartWith("whsec_");
        Convert.FromBase64String(a["whsec_".Length..]).Should().HaveCount(32);
        WebhookSignatures.StandardKey(a).Should().HaveCount(32);
        WebhookSignatures.GenerateSecret().Should().NotBe(a);
        WebhookSignatures.StandardKey("s3cret").Should().Equal(Encoding.UTF8.GetBytes("s3cret"), "a non-whsec secret keys with its UTF-8 bytes");
    }

    [Theory]
    [InlineData("169.254.169.254", "metadata")]
    [InlineData("169.254.1.1", "link-local")]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.9.9.9", "loopback")]
    [InlineData("10.1.2.3", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.10", "private")]
    [InlineData("100.64.0.1", "CGNAT")]
    [InlineData("100.101.102.103", "CGNAT")]
    [InlineData("0.0.0.0", "this")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("::1", "loopback")]
    [InlineData("::", "unspecified")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fd00:ec2::254", "unique-local")]
    [InlineData("fc00::1", "unique-local")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("::ffff:169.254.169.254", "metadata")]
    [InlineData("64:ff9b::a9fe:a9fe", "metadata")]
    public void BlockedNetworks_RefusePrivateAddresses(string address, string reason)
    {
        BlockedNetworks.Classify(IPAddress.Parse(address)).Should().Contain(reason);
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("93.184.216.34")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void BlockedNetworks_AllowPublicAddresses(string address)
    {
        BlockedNetworks.Classify(IPAddress.Parse(address)).Should().BeNull();
    }

    [Fact]
    public void RetrySchedule_IsTheStandardWebhooksSchedule_WithBoundedJitter_AndRetryAfterAsAFloor()
    {
        var exact = new RetrySchedule(jitter: 0);
        Enumerable.Range(1, 7).Select(n => exact.Next(n, null)).Should().Equal(
            TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
            TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10));
        exact.Next(8, null).Should().BeNull("eight attempts in all: the first immediately, then seven retries");
        RetrySchedule.MaxAttempts.Should().Be(8);

        new RetrySchedule(0.1, () => 0).Next(2, null).Should().Be(TimeSpan.FromMinutes(4.5));
        new RetrySchedule(0.1, () => 1).Next(2, null).Should().Be(TimeSpan.FromMinutes(5.5));
        exact.Next(1, TimeSpan.FromMinutes(2)).Should().Be(TimeSpan.FromMinutes(2), "Retry-After later than the schedule wins");
        exact.Next(3, TimeSpan.FromMinutes(2)).Should().Be(TimeSpan.FromMinutes(30), "the schedule later than Retry-After wins");
        exact.Next(1, TimeSpan.FromDays(9)).Should().Be(RetrySchedule.MaxRetryAfter);

        var now = new DateTimeOffset(2026, 11, 22, 2, 14, 0, TimeSpan.Zero);
        RetrySchedule.ParseRetryAfter("120", now).Should().Be(TimeSpan.FromSeconds(120));
        RetrySchedule.ParseRetryAfter("Sun, 22 Nov 2026 02:15:00 GMT", now).Should().Be(TimeSpan.FromMinutes(1));
        RetrySchedule.ParseRetryAfter("soon", now).Should().BeNull();
    }

    [Fact]
    public void WebhookFilter_MatchesChannelByPrefix_AndTypesExactly()
    {
        new WebhookFilter("", null).Matches("anything", "any").Should().BeTrue();
        var dm = new WebhookFilter("session:", null);
        dm.Matches("session:abc", "note").Should().BeTrue();
        dm.Matches("all", "note").Should().BeFalse();
        var ci = new WebhookFilter("repo:eventbus", ["ci_failed", "ci_passed"]);
        ci.Matches("repo:eventbus", "ci_failed").Should().BeTrue();
        ci.Matches("repo:eventbus-docs", "ci_passed").Should().BeTrue("a prefix match, as the old bus did");
        ci.Matches("repo:eventbus", "note").Should().BeFalse();
        ci.Matches("repo:other", "ci_failed").Should().BeFalse();
        new WebhookFilter("", []).Matches("x", "y").Should().BeTrue("an empty type list means every type");
    }

    [Theory]
    [InlineData(400, true)]
    [InlineData(401, true)]
    [InlineData(403, true)]
    [InlineData(404, true)]
    [InlineData(413, true)]
    [InlineData(422, true)]
    [InlineData(408, false)]
    [InlineData(409, false)]
    [InlineData(410, false)]
    [InlineData(425, false)]
    [InlineData(429, false)]
    [InlineData(500, false)]
    [InlineData(503, false)]
    [InlineData(302, false)]
    [InlineData(null, false)]
    public void IsPermanentRejection_IsEvery4xx_ButTheOnesThatSayLater_AndGone(int? status, bool permanent) =>
        RetrySchedule.IsPermanentRejection(status).Should().Be(permanent);
}
