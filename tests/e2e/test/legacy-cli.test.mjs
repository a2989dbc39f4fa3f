// Bare fetch exactly like the old agent-event-bus CLI and the hooks built on it: a JSON-RPC tools/call with no
// initialize and no Mcp-Session-Id, Accept: application/json, text/event-stream; it parses the first SSE `data:`
// line and reads result.structuredContent.result, else JSON.parse(result.content[0].text).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MCP_URL, TIMEOUT_MS, firstSseData, uniqueTag } from '../lib/bus.mjs';

let nextId = 1;

/** One CLI command: returns the raw Response facts and the result object the CLI would print. */
async function cliCall(name, args) {
  const res = await fetch(MCP_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${name}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const message = firstSseData(text);
  assert.equal(message.jsonrpc, '2.0');
  assert.ok(!message.error, `${name}: JSON-RPC error ${JSON.stringify(message.error)}`);
  const result = message.result;
  assert.notEqual(result.isError, true, `${name}: tool error ${result.content?.[0]?.text}`);
  const value = result.structuredContent?.result ?? JSON.parse(result.content[0].text);
  return { res, value, result };
}

describe('old CLI: bare stateless tools/call over fetch', () => {
  test('a session-less tools/call is answered as SSE with no session created', async () => {
    const { res } = await cliCall('list_channels', {});
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('mcp-session-id'), null, 'no Mcp-Session-Id on a stateless answer');
  });

  test('register_session, publish_event, get_events round trip', async () => {
    const machine = uniqueTag('cli-host');
    const { value: session } = await cliCall('register_session', {
      name: 'e2e-cli',
      machine,
      cwd: '/home/dev/projects/gizmo',
      client_id: 'cli-client-1',
    });
    assert.match(session.session_id, /\S+/);
    assert.equal(session.repo, 'gizmo');
    assert.equal(session.resumed, false);

    const { value: published } = await cliCall('publish_event', {
      session_id: session.session_id,
      event_type: 'help_needed',
      payload: 'who owns the flaky test?',
      channel: 'repo:gizmo',
      tags: ['ci', 'flaky'],
      title: 'Flaky test',
    });
    assert.equal(published.event_type, 'help_needed');
    assert.equal(published.channel, 'repo:gizmo');
    assert.equal(published.signal_level, 'actionable', 'help_needed is actionable by type');

    // The resume read (no cursor) starts at the registration tip: exactly the one event published since.
    const { value: read } = await cliCall('get_events', { session_id: session.session_id, resume: true });
    assert.equal(read.has_more, false);
    assert.equal(read.next_cursor, String(published.event_id));
    assert.equal(read.events.length, 1, `events: ${JSON.stringify(read.events)}`);
    const [event] = read.events;
    assert.deepEqual(
      {
        id: event.id,
        event_type: event.event_type,
        payload: event.payload,
        session_id: event.session_id,
        channel: event.channel,
        signal_level: event.signal_level,
        title: event.title,
        tags: event.tags,
      },
      {
        id: published.event_id,
        event_type: 'help_needed',
        payload: 'who owns the flaky test?',
        session_id: session.session_id,
        channel: 'repo:gizmo',
        signal_level: 'actionable',
        title: 'Flaky test',
        tags: ['ci', 'flaky'],
      },
    );

    // A channel-filtered read with an explicit cursor finds it too; a read of another channel does not.
    const { value: byChannel } = await cliCall('get_events', { channel: 'repo:gizmo', cursor: session.cursor });
    assert.deepEqual(byChannel.events.map((e) => e.id), [published.event_id]);
    const { value: other } = await cliCall('get_events', { channel: 'repo:elsewhere', cursor: session.cursor });
    assert.deepEqual(other.events, []);

    // Re-registering with the same (machine, client_id) resumes the same session with its saved cursor.
    const { value: resumed } = await cliCall('register_session', { name: 'e2e-cli', machine, client_id: 'cli-client-1' });
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.session_id, session.session_id);
    assert.equal(resumed.display_id, session.display_id);
    assert.equal(resumed.cursor, String(published.event_id));

    const { value: bye } = await cliCall('unregister_session', { session_id: session.session_id });
    assert.equal(bye.success, true);
  });

  test('the text fallback (content[0].text) carries the same object as structuredContent', async () => {
    const { value, result } = await cliCall('get_events', { limit: 1, order: 'desc' });
    assert.deepEqual(JSON.parse(result.content[0].text), value);
    assert.ok(Array.isArray(value.events) && value.events.length === 1);
  });
});
