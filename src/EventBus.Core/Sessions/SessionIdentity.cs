using EventBus.Core.Bus;

namespace EventBus.Core.Sessions;

/// <summary>
/// A session's identity as the bus stores it: (machine, client_id). Every request is turned into this form once, before
/// any check reads it, so that an ownership check and the store never see two spellings of the same identity.
/// </summary>
/// <param name="Machine">Trimmed; a missing or blank machine is <c>unknown</c>.</param>
/// <param name="ClientId">Trimmed; null when not given. Case is kept: <c>Alice-1</c> and <c>alice-1</c> are two clients.</param>
public readonly record struct SessionIdentity(string Machine, string? ClientId)
{
    /// <summary>The canonical identity of a request, or a <see cref="BusValidationException"/> saying what is wrong.</summary>
    /// <param name="machine">As sent: null, empty and whitespace all mean "not given".</param>
    /// <param name="clientId">As sent: null means not given; blank is refused (it would silently mean something else).</param>
    /// <param name="blankClientIdHint">Appended to the refusal of a blank client_id.</param>
    public static SessionIdentity From(string? machine, string? clientId, string blankClientIdHint = "")
    {
        var canonicalMachine = string.IsNullOrWhiteSpace(machine) ? RepoName.Unknown : machine.Trim();
        Validate.Name(canonicalMachine, "machine");
        string? canonicalClient = null;
        if (clientId is not null)
        {
            if (string.IsNullOrWhiteSpace(clientId))
            {
                throw new BusValidationException($"client_id must not be blank{blankClientIdHint}.");
            }

            canonicalClient = clientId.Trim();
            Validate.Name(canonicalClient, "client_id");
        }

        return new SessionIdentity(canonicalMachine, canonicalClient);
    }

    /// <summary>A machine used to narrow a lookup: null when not given (any machine), else canonical.</summary>
    public static string? OptionalMachine(string? machine)
    {
        if (machine is null)
        {
            return null;
        }

        return From(machine, null).Machine;
    }
}
