using EventBus.Core.Bus;
using EventBus.Core.Sessions;

namespace EventBus.Core.Tests;

public sealed class SessionIdentityTests
{
    [Theory]
    [InlineData(null, "unknown")]
    [InlineData("", "unknown")]
    [InlineData(" ", "unknown")]
    [InlineData("\t", "unknown")]
    [InlineData(" laptop\t", "laptop")]
    [InlineData("Laptop", "Laptop")]
    public void Machine_BlankMeansUnknown_SurroundingSpaceIsTrimmed_CaseIsKept(string? machine, string expected) =>
        SessionIdentity.From(machine, null).Machine.Should().Be(expected);

    [Fact]
    public void ClientId_IsTrimmed_NullStaysNull_BlankAndControlCharactersAreRefused()
    {
        SessionIdentity.From("m", " c1 ").ClientId.Should().Be("c1");
        SessionIdentity.From("m", null).ClientId.Should().BeNull();
        FluentActions.Invoking(() => SessionIdentity.From("m", " \t")).Should().Throw<BusValidationException>()
            .WithMessage("client_id must not be blank.");
        FluentActions.Invoking(() => SessionIdentity.From("m", "a\0b")).Should().Throw<BusValidationException>()
            .WithMessage("client_id must not contain control characters*");
        FluentActions.Invoking(() => SessionIdentity.From("lap\0top", null)).Should().Throw<BusValidationException>()
            .WithMessage("machine must not contain control characters*");
    }

    [Fact]
    public void OptionalMachine_NotGivenMatchesAnyMachine_GivenIsCanonical()
    {
        SessionIdentity.OptionalMachine(null).Should().BeNull();
        SessionIdentity.OptionalMachine("").Should().Be("unknown");
        SessionIdentity.OptionalMachine(" m ").Should().Be("m");
    }
}
