using System.IO.Pipelines;
using EventBus.Cli.Client;

namespace EventBus.Cli.Tests.Client;

/// <summary>The follower's liveness check under the SSE parser: any byte (a keep-alive comment too) keeps a stream alive.</summary>
public sealed class IdleTimeoutStreamTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Read_WithNoByteForTheIdleTimeout_FailsAsIdle()
    {
        var time = TestClock.Create();
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutStream(pipe.Reader.AsStream(), Idle, time);

        var read = stream.ReadAsync(new byte[64], TestTimeouts.Token()).AsTask();
        time.Advance(Idle - TimeSpan.FromSeconds(1));
        read.IsCompleted.Should().BeFalse();
        time.Advance(TimeSpan.FromSeconds(1));

        (await read.Invoking(r => r).Should().ThrowAsync<StreamIdleException>()).Which.Message.Should().Be("no data or keep-alive for 60 s");
    }

    [Fact]
    public async Task KeepAliveBytes_RestartTheIdleTimeout()
    {
        var time = TestClock.Create();
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutStream(pipe.Reader.AsStream(), Idle, time);
        var buffer = new byte[64];

        var first = stream.ReadAsync(buffer, TestTimeouts.Token()).AsTask();
        time.Advance(Idle - TimeSpan.FromSeconds(1));
        await pipe.Writer.WriteAsync(": keepalive\n\n"u8.ToArray());
        (await first.WaitAsync(TestTimeouts.Default)).Should().Be(13);

        var second = stream.ReadAsync(buffer, TestTimeouts.Token()).AsTask();
        time.Advance(Idle - TimeSpan.FromSeconds(1));
        second.IsCompleted.Should().BeFalse("the keep-alive restarted the clock");
        time.Advance(TimeSpan.FromSeconds(1));
        await second.Invoking(r => r).Should().ThrowAsync<StreamIdleException>();
    }

    [Fact]
    public async Task Read_CancelledByTheCaller_IsACancellation_NotIdle()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutStream(pipe.Reader.AsStream(), Idle, TestClock.Create());
        using var cancel = new CancellationTokenSource();

        var read = stream.ReadAsync(new byte[64], cancel.Token).AsTask();
        await cancel.CancelAsync();

        await read.Invoking(r => r).Should().ThrowAsync<OperationCanceledException>();
    }
}
