namespace EventBus.Core.Store;

/// <summary>Which store serves the bus: for messages that name it, and for files the server keeps beside it.</summary>
/// <param name="Kind">"sqlite" or "postgres".</param>
/// <param name="Location">What to call it in a message: the database file, or host:port/database (never a password).</param>
/// <param name="DataDirectory">A folder on this machine for the server's own files (the webhook-secret keys), or null
/// when the store has none (a database server): such files then need a configured path.</param>
public sealed record StoreDescriptor(string Kind, string Location, string? DataDirectory);
