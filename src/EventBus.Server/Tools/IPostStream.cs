namespace EventBus.Server.Tools;

/// <summary>
/// The POST event stream a <c>tools/call</c> is being answered on, for a tool that may end it before its answer
/// (SEP-1699 polling): the client resumes the stream with a GET carrying the stream's id as <c>Last-Event-ID</c> and
/// gets the answer there.
/// </summary>
internal interface IPostStream
{
    /// <summary>
    /// Ends the POST stream now: the client has seen its priming event (id and <c>retry</c>) and the end, and the
    /// answer will go to the GET that resumes it. False when the server could not keep the answer for later (the
    /// session's limit of pending answers is reached): the stream stays open and the answer goes on it as usual.
    /// </summary>
    Task<bool> CloseAsync(CancellationToken cancellationToken);

    /// <summary>Completes once a GET has resumed the stream (after <see cref="CloseAsync"/>).</summary>
    Task Resumed { get; }
}
