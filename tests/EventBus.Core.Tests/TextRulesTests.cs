using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventBus.Core.Bus;
using EventBus.Core.Channels;

namespace EventBus.Core.Tests;

public class TextRulesTests
{
    [Theory]
    [InlineData(new byte[] { 0x61, 0x62 }, -1)]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0x61 }, -1)] // a byte-order mark is valid UTF-8
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80 }, -1)] // an emoji
    [InlineData(new byte[] { 0x61, 0xFF }, 1)]
    [InlineData(new byte[] { 0x61, 0x62, 0xC3, 0x28 }, 2)] // a lead byte without its continuation
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 0)] // a surrogate encoded as UTF-8 (CESU-8)
    [InlineData(new byte[] { 0xC0, 0xAF }, 0)] // an overlong encoding
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, 1)] // truncated at the end
    public void FirstInvalidUtf8Byte_IsTheOffsetOfTheBadSequence(byte[] bytes, int expected) =>
        TextRules.FirstInvalidUtf8Byte(bytes).Should().Be(expected);

    // Written escaped: an attribute cannot hold a lone surrogate (its strings are stored as UTF-8).
    [Theory]
    [InlineData(@"plain", -1)]
    [InlineData(@"a\uD83D\uDE00b", -1)]
    [InlineData(@"\uD83D\uDE00\uD83D\uDE00", -1)]
    [InlineData(@"a\uD800", 1)]
    [InlineData(@"\uDC00x", 0)]
    [InlineData(@"\uD83D\uDE00\uD800x", 2)]
    [InlineData(@"\uD800\uD800\uDC00", 0)]
    public void FirstUnpairedSurrogate_FindsAHalfPairAnywhere(string escaped, int expected) =>
        TextRules.FirstUnpairedSurrogate(Regex.Unescape(escaped)).Should().Be(expected);

    [Theory]
    [InlineData("""{"a":"plain \u00e9"}""", false)]
    [InlineData("""{"a":"\ud800"}""", true)]
    [InlineData("""{"a":"\uDFFF"}""", true)]
    [InlineData("""{"a":"\u00e9 then \uD83D\uDE00"}""", true)]
    [InlineData("""{"a":"\uabcd"}""", false)]
    public void MayHaveSurrogateEscape_IsFalseOnlyWithoutOne(string json, bool expected) =>
        TextRules.MayHaveSurrogateEscape(Encoding.UTF8.GetBytes(json)).Should().Be(expected);

    [Theory]
    [InlineData("""{"a":[1,"ok",{"b":"\ud83d\ude00"}]}""", null)]
    [InlineData("""{"a":[1,"ok",{"b":"\ud800"}]}""", "$.a[2].b")]
    [InlineData("""{"a":{"\udc00":1}}""", "a property name in $.a")]
    [InlineData("""["\ud800"]""", "$[0]")]
    public void FindInvalidText_SaysWhere(string json, string? expected)
    {
        using var document = JsonDocument.Parse(json);
        TextRules.FindInvalidText(document.RootElement).Should().Be(expected);
    }

    [Fact]
    public void FindInvalidText_DoesNotLookIntoSkippedValues()
    {
        using var document = JsonDocument.Parse("""{"method":"m","params":{"arguments":{"x":"\ud800"},"name":"\ud800"}}""");
        TextRules.FindInvalidText(document.RootElement, "", p => p == "params.arguments").Should().Be("params.name");
    }

    [Fact]
    public void ChannelName_WithAnUnpairedSurrogate_IsRefused() =>
        FluentActions.Invoking(() => ChannelName.Validate("alerts:\uD800"))
            .Should().Throw<BusValidationException>().WithMessage("channel contains an unpaired surrogate*");
}
