namespace EventBus.Core.Bus;

/// <summary>Shows a desktop notification on the machine the server runs on.</summary>
public interface IDesktopNotifier
{
    /// <summary>True if a notification was shown.</summary>
    Task<bool> NotifyAsync(string title, string message, bool sound, CancellationToken cancellationToken);
}
