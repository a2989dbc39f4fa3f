using EventBus.Core.Events;

namespace EventBus.Core.Tests;

public class CursorTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("007", 7L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void TryParse_DecimalDigits_Parse(string text, long expected)
    {
        Cursor.TryParse(text, out var cursor).Should().BeTrue();
        cursor.Should().Be(expected);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.5")]
    [InlineData("abc")]
    [InlineData("1e3")]
    [InlineData("٣")] // a non-ASCII digit
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999")]
    public void TryParse_AnythingElse_IsRefused(string? text) => Cursor.TryParse(text, out _).Should().BeFalse();

    [Fact]
    public void Format_IsInvariantDecimal() => Cursor.Format(1234567).Should().Be("1234567");
}
