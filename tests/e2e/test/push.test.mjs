// Push with the official TypeScript MCP SDK client: a bound session receives notifications/claude/channel through
// the SDK's own notification handler (the transport's GET stream), without polling.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MCP_URL, uniqueTag } from '../lib/bus.mjs';
import { mcpClient } from '../lib/channel-client.mjs';

/** An SDK client whose channel notifications land in an inbox that can be awaited. */
const connect = (name) => mcpClient(MCP_URL.replace(/\/mcp$/, ''), name);

describe('push to the TypeScript SDK client', () => {
  const machine = uniqueTag('push-machine');
  let alice;
  let bob;

  before(async () => {
    alice = await connect('e2e-push-alice');
    bob = await connect('e2e-push-bob');
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
  });

  test('the server declares claude/channel and tells the agent about channel messages', () => {
    assert.deepEqual(bob.client.getServerCapabilities()?.experimental?.['claude/channel'], {});
    assert.match(bob.client.getInstructions() ?? '', /channel/);
  });

  test("a DM reaches the recipient's notification handler with readable content and the meta keys", async () => {
    const a = await alice.call('register_session', { name: 'push-alice', machine });
    const b = await bob.call('register_session', { name: 'push-bob', machine });
    // Registering bound Bob's MCP session: his GET stream now carries his pushes.
    const sent = await alice.call('publish_event', {
      event_type: 'help_needed',
      payload: 'can you review PR 7?',
      channel: `session:${b.session_id}`,
      session_id: a.session_id,
    });

    const message = await bob.next();
    assert.equal(message.meta.event_id, String(sent.event_id));
    assert.equal(message.meta.channel, `session:${b.session_id}`);
    assert.equal(message.meta.event_type, 'help_needed');
    assert.equal(message.meta.signal_level, 'actionable');
    assert.equal(message.meta.from, a.display_id);
    for (const key of Object.keys(message.meta)) {
      assert.match(key, /^[A-Za-z0-9_]+$/, `meta key ${key}`);
    }
    assert.match(message.content, /help_needed from .+ on session:.+: can you review PR 7\?/);
    assert.equal(alice.inbox.length, 0, 'the sender is not pushed its own event');
  });

  test('a subscription pushes actionable events on matching channels, not info chatter and not other channels', async () => {
    const tag = uniqueTag('proj');
    const subscribed = await bob.call('subscribe', { channel: `repo:${tag}:*` });
    assert.equal(subscribed.min_level, 'actionable');

    await alice.call('publish_event', { event_type: 'note', payload: 'chatter', channel: `repo:${tag}:main` });
    await alice.call('publish_event', {
      event_type: 'ci_failed', payload: 'other project', channel: `repo:${tag}x:main`, signal_level: 'actionable',
    });
    const wanted = await alice.call('publish_event', {
      event_type: 'ci_failed', payload: 'build 42 red', channel: `repo:${tag}:main`, signal_level: 'actionable',
    });

    const message = await bob.next();
    assert.equal(message.meta.event_id, String(wanted.event_id), 'the first push is the matching actionable event');
    assert.equal(message.meta.channel, `repo:${tag}:main`);
    assert.equal(bob.inbox.length, 0, 'nothing else was pushed');
  });
});
