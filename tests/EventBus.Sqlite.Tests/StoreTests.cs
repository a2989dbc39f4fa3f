using System.Collections.Concurrent;
using EventBus.Core.Events;
using EventBus.Core.Store;
using Microsoft.Data.Sqlite;

namespace EventBus.Sqlite.Tests;

public class StoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Initialize_FreshFile_AppliesEveryMigrationAndUsesWal()
    {
        await using var temp = await TempStore.CreateAsync();
        var state = await temp.Store.Events.GetStateAsync(None);
        state.SchemaVersion.Should().Be(Migrations.Latest).And.BeGreaterThan(0);
        state.Tip.Should().Be(0);

        await using var connection = new SqliteConnection($"Data Source={temp.Path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        command.ExecuteScalar().Should().Be("wal");
    }

    [Fact]
    public async Task Reopen_KeepsEventsSessionsAndCursors()
    {
        await using var temp = await TempStore.CreateAsync();
        var registered = await temp.Store.Events.RegisterAsync(TempStore.Register("alpha", clientId: "c1"), None);
        await temp.Store.Events.PublishAsync(TempStore.Event(payload: "kept"), null, None);

        await temp.ReopenAsync();

        var page = await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 10), None);
        page.Events.Select(e => e.Payload).Should().Equal("alpha started", "kept");
        var session = await temp.Store.Events.GetSessionAsync(registered.Session.SessionId, None);
        session!.Cursor.Should().Be(registered.Cursor);
    }

    [Fact]
    public async Task Register_AnotherTokensIdentity_IsRefusedInTheSameTransaction_AndWritesNothing()
    {
        await using var temp = await TempStore.CreateAsync();
        var alice = await temp.Store.Events.RegisterAsync(TempStore.Register("alice", clientId: "c1") with { OwnerTokenId = "tok-alice" }, None);
        var tip = await temp.Store.Events.GetTipAsync(None);

        var mallory = await temp.Store.Events.RegisterAsync(
            TempStore.Register("mallory", clientId: "c1") with { OwnerTokenId = "tok-mallory", MayResumeAnyOwner = false }, None);

        mallory.OwnedByAnother.Should().BeTrue();
        (await temp.Store.Events.GetTipAsync(None)).Should().Be(tip, "a refused registration writes no event");
        (await temp.Store.Events.GetSessionAsync(alice.Session.SessionId, None))!.Name.Should().Be("alice", "and renames nothing");
        var owner = await temp.Store.Events.RegisterAsync(
            TempStore.Register("alice again", clientId: "c1") with { OwnerTokenId = "tok-alice", MayResumeAnyOwner = false }, None);
        owner.Resumed.Should().BeTrue();
        owner.Session.SessionId.Should().Be(alice.Session.SessionId);
    }

    [Fact]
    public async Task Initialize_DatabaseFromANewerVersion_IsRefusedWithAClearMessage()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={temp.Path};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {Migrations.Latest + 1}";
            command.ExecuteNonQuery();
        }

        var store = new SqliteStore(new SqliteStoreOptions { Path = temp.Path });
        var act = () => store.InitializeAsync(None);
        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*newer than this EventBus understands*");
        await store.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentPublishes_AreAllCommittedWithUniqueIncreasingIds()
    {
        var observer = new RecordingObserver();
        await using var temp = await TempStore.CreateAsync(observer);
        var publishes = Enumerable.Range(0, 500)
            .Select(i => Task.Run(() => temp.Store.Events.PublishAsync(TempStore.Event(payload: "e" + i), null, None)))
            .ToArray();
        var outcomes = await Task.WhenAll(publishes);

        var ids = outcomes.Select(o => o.Event.Id).ToList();
        ids.Should().OnlyHaveUniqueItems().And.HaveCount(500);
        var page = await temp.Store.Events.ReadEventsAsync(new EventQuery(0, 1000), None);
        page.Events.Should().HaveCount(500);
        page.Events.Select(e => e.Id).Should().BeInAscendingOrder();
        observer.CommittedIds.Should().Equal(page.Events.Select(e => e.Id), "the commit observer sees every event once, in commit order");
    }

    [Fact]
    public async Task OneFailingWrite_DoesNotUndoTheOthersInItsGroup()
    {
        await using var temp = await TempStore.CreateAsync();
        var first = await temp.Store.Events.RegisterAsync(TempStore.Register("a", clientId: "same", id: "s-1"), None);

        // A second session with the same primary key violates a constraint inside the writer; neighbours still commit.
        var clash = temp.Store.Events.RegisterAsync(TempStore.Register("b", clientId: null, id: "s-1"), None);
        var fine = Enumerable.Range(0, 20).Select(i => temp.Store.Events.PublishAsync(TempStore.Event(payload: "ok" + i), null, None)).ToArray();

        await clash.Invoking(t => t).Should().ThrowAsync<SqliteException>();
        (await Task.WhenAll(fine)).Should().HaveCount(20);
        var page = await temp.Store.Events.ReadEventsAsync(new EventQuery(first.Cursor, 100), None);
        page.Events.Select(e => e.Payload).Should().BeEquivalentTo(Enumerable.Range(0, 20).Select(i => "ok" + i));
    }

    [Fact]
    public async Task Register_SameMachineAndClientId_ResumesEvenAfterUnregister()
    {
        await using var temp = await TempStore.CreateAsync();
        var first = await temp.Store.Events.RegisterAsync(TempStore.Register("alpha", clientId: "c1"), None);
        await temp.Store.Events.AdvanceCursorAsync(first.Session.SessionId, first.Cursor, DateTimeOffset.UnixEpoch, None);
        await temp.Store.Events.UnregisterAsync(first.Session.SessionId, DateTimeOffset.UnixEpoch, TempStore.Event("session_unregistered"), None);

        var again = await temp.Store.Events.RegisterAsync(TempStore.Register("alpha-2", clientId: "c1"), None);

        again.Resumed.Should().BeTrue();
        again.Session.SessionId.Should().Be(first.Session.SessionId);
        again.Session.DisplayId.Should().Be(first.Session.DisplayId);
        again.Session.IsLive.Should().BeTrue();
        again.Session.Name.Should().Be("alpha-2");
        again.Cursor.Should().Be(first.Cursor);
    }

    [Fact]
    public async Task Register_SameClientIdOnAnotherMachine_IsAnotherSession()
    {
        await using var temp = await TempStore.CreateAsync();
        var a = await temp.Store.Events.RegisterAsync(TempStore.Register("a", machine: "m1", clientId: "c1"), None);
        var b = await temp.Store.Events.RegisterAsync(TempStore.Register("b", machine: "m2", clientId: "c1"), None);
        b.Resumed.Should().BeFalse();
        b.Session.SessionId.Should().NotBe(a.Session.SessionId);
        (await temp.Store.Events.FindByClientIdAsync("c1", null, None)).Should().HaveCount(2);
        (await temp.Store.Events.FindByClientIdAsync("c1", "m2", None)).Single().SessionId.Should().Be(b.Session.SessionId);
    }

    [Fact]
    public async Task Register_NewSession_CursorIsItsOwnRegistrationEvent()
    {
        await using var temp = await TempStore.CreateAsync();
        await temp.Store.Events.PublishAsync(TempStore.Event(payload: "before"), null, None);
        var outcome = await temp.Store.Events.RegisterAsync(TempStore.Register("alpha"), None);
        outcome.Cursor.Should().Be(await temp.Store.Events.GetTipAsync(None));
        outcome.Session.Cursor.Should().Be(outcome.Cursor);
    }

    [Fact]
    public async Task Register_DisplayIdClash_PicksAnotherForTheNewSession()
    {
        await using var temp = await TempStore.CreateAsync();
        var names = new Queue<string>(["calm-raptor", "calm-raptor", "bold-rex"]);
        var first = await temp.Store.Events.RegisterAsync(TempStore.Register("a") with { NextDisplayId = () => "calm-raptor" }, None);
        var second = await temp.Store.Events.RegisterAsync(TempStore.Register("b") with { NextDisplayId = names.Dequeue }, None);
        first.Session.DisplayId.Should().Be("calm-raptor");
        second.Session.DisplayId.Should().Be("bold-rex");
    }

    [Fact]
    public async Task AdvanceCursor_NeverMovesBackwards()
    {
        await using var temp = await TempStore.CreateAsync();
        var s = await temp.Store.Events.RegisterAsync(TempStore.Register("a"), None);
        var id = s.Session.SessionId;
        await temp.Store.Events.AdvanceCursorAsync(id, 50, DateTimeOffset.UnixEpoch, None);
        await temp.Store.Events.AdvanceCursorAsync(id, 10, DateTimeOffset.UnixEpoch, None);
        (await temp.Store.Events.GetSessionAsync(id, None))!.Cursor.Should().Be(50);
    }

    [Fact]
    public async Task Ack_AppliesEveryRule()
    {
        await using var temp = await TempStore.CreateAsync();
        var s = await temp.Store.Events.RegisterAsync(TempStore.Register("a"), None);
        var id = s.Session.SessionId;
        for (var i = 0; i < 5; i++)
        {
            await temp.Store.Events.PublishAsync(TempStore.Event(), null, None);
        }

        var tip = await temp.Store.Events.GetTipAsync(None);
        (await temp.Store.Events.AckAsync(id, tip, false, DateTimeOffset.UnixEpoch, None)).Status.Should().Be(AckStatus.Saved);
        (await temp.Store.Events.AckAsync(id, tip + 1, false, DateTimeOffset.UnixEpoch, None)).Status.Should().Be(AckStatus.AheadOfTip);
        var rewind = await temp.Store.Events.AckAsync(id, 2, false, DateTimeOffset.UnixEpoch, None);
        rewind.Status.Should().Be(AckStatus.Rewind);
        rewind.PreviousCursor.Should().Be(tip);
        var allowed = await temp.Store.Events.AckAsync(id, 2, true, DateTimeOffset.UnixEpoch, None);
        allowed.Status.Should().Be(AckStatus.Saved);
        allowed.PreviousCursor.Should().Be(tip);
        (await temp.Store.Events.GetSessionAsync(id, None))!.Cursor.Should().Be(2);
        (await temp.Store.Events.AckAsync("nobody", 1, false, DateTimeOffset.UnixEpoch, None)).Status.Should().Be(AckStatus.NotFound);
    }

    [Fact]
    public async Task Expire_MarksOnlySilentSessionsAndAnnouncesEach()
    {
        await using var temp = await TempStore.CreateAsync();
        var now = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
        var old = await temp.Store.Events.RegisterAsync(TempStore.Register("old") with { Now = now.AddHours(-25) }, None);
        var fresh = await temp.Store.Events.RegisterAsync(TempStore.Register("fresh") with { Now = now.AddHours(-1) }, None);

        var expired = await temp.Store.Events.ExpireSessionsAsync(now.AddHours(-24), now,
            s => TempStore.Event("session_unregistered", payload: s.Name + " expired", session: s.SessionId), None);

        expired.Select(s => s.SessionId).Should().Equal(old.Session.SessionId);
        (await temp.Store.Events.GetSessionAsync(old.Session.SessionId, None))!.DeletedAt.Should().Be(now);
        (await temp.Store.Events.GetSessionAsync(fresh.Session.SessionId, None))!.IsLive.Should().BeTrue();
        var events = await temp.Store.Events.ReadEventsAsync(new EventQuery(null, 1), None);
        events.Events.Single().Payload.Should().Be("old expired");
    }
}

public class CheckpointTests
{
    [Fact]
    public async Task Checkpoint_MovesCommittedFramesIntoTheDatabase_AndTheWriterNeverDoesItItself()
    {
        await using var temp = await TempStore.CreateAsync();
        for (var i = 0; i < 300; i++)
        {
            await temp.Store.Events.PublishAsync(TempStore.Event(payload: new string('x', 500)), null, CancellationToken.None);
        }

        // With auto-checkpoint off on the writer, every commit so far is still in the WAL.
        var walBytes = new FileInfo(temp.Path + "-wal").Length;
        walBytes.Should().BeGreaterThan(4096 * 20);

        var (frames, checkpointed) = await temp.Store.CheckpointAsync(CancellationToken.None);
        frames.Should().BePositive();
        checkpointed.Should().Be(frames);

        // The data is in the main file now: a copy of the database file alone (no WAL) has every event.
        var copy = temp.Path + ".copy";
        File.Copy(temp.Path, copy);
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={copy};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM events";
        command.ExecuteScalar().Should().Be(300L);
    }
}

public class SubscriptionStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Subscriptions_AreStoredPerSession_UpsertedByPattern_AndSurviveARestart()
    {
        await using var temp = await TempStore.CreateAsync();
        var s = (await temp.Store.Events.RegisterAsync(TempStore.Register("a"), None)).Session.SessionId;
        var t = DateTimeOffset.UnixEpoch;
        await temp.Store.Events.SubscribeAsync(new(s, "repo:*", EventBus.Core.Events.SignalLevel.Actionable, t), None);
        await temp.Store.Events.SubscribeAsync(new(s, "alerts:#", EventBus.Core.Events.SignalLevel.Info, t), None);
        await temp.Store.Events.SubscribeAsync(new(s, "repo:*", EventBus.Core.Events.SignalLevel.Lifecycle, t), None);

        await temp.ReopenAsync();

        var list = await temp.Store.Events.ListSubscriptionsAsync(s, None);
        list.Select(x => (x.Pattern, x.MinLevel)).Should().Equal(
            ("alerts:#", EventBus.Core.Events.SignalLevel.Info), ("repo:*", EventBus.Core.Events.SignalLevel.Lifecycle));
        (await temp.Store.Events.UnsubscribeAsync(s, "repo:*", None)).Should().BeTrue();
        (await temp.Store.Events.UnsubscribeAsync(s, "repo:*", None)).Should().BeFalse();
        (await temp.Store.Events.ListSubscriptionsAsync("someone-else", None)).Should().BeEmpty();
    }

    [Fact]
    public async Task PushCursor_OnlyMovesForward()
    {
        await using var temp = await TempStore.CreateAsync();
        var s = (await temp.Store.Events.RegisterAsync(TempStore.Register("a"), None)).Session.SessionId;
        (await temp.Store.Events.GetSessionAsync(s, None))!.PushCursor.Should().BeNull();
        await temp.Store.Events.AdvancePushCursorAsync(s, 7, None);
        await temp.Store.Events.AdvancePushCursorAsync(s, 3, None);
        (await temp.Store.Events.GetSessionAsync(s, None))!.PushCursor.Should().Be(7);
    }
}
