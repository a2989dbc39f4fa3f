// The official TypeScript MCP SDK client (Client + StreamableHTTPClientTransport) against EventBus: the whole
// session lifecycle an agent goes through, checked on real values.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MCP_URL, TIMEOUT_MS, TOOL_NAMES, rawInitialize, toolPayload, uniqueTag } from '../lib/bus.mjs';

describe('TypeScript SDK client', () => {
  /** @type {Client} */
  let client;
  /** @type {StreamableHTTPClientTransport} */
  let transport;
  const machine = uniqueTag('sdk-machine');

  const call = async (name, args = {}) => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: TIMEOUT_MS });
    assert.notEqual(result.isError, true, `${name} failed: ${result.content?.[0]?.text}`);
    return toolPayload(result);
  };

  before(async () => {
    client = new Client({ name: 'eventbus-e2e-sdk', version: '0.0.0' });
    transport = new StreamableHTTPClientTransport(new URL(MCP_URL));
    await client.connect(transport, { timeout: TIMEOUT_MS });
  });

  after(async () => {
    // Ends the MCP session on the server (DELETE /mcp) and closes the transport.
    await transport?.terminateSession();
    await client?.close();
  });

  test('connects with a stateful session and identifies the server as eventbus', () => {
    assert.match(transport.sessionId ?? '', /\S{8,}/, 'the server issued an Mcp-Session-Id');
    const server = client.getServerVersion();
    assert.equal(server?.name, 'eventbus');
    assert.ok(client.getServerCapabilities()?.tools, 'the server declares the tools capability');
  });

  test('lists exactly the bus tools (the eight of the contract and the subscription tools), each with an object input schema', async () => {
    const { tools } = await client.listTools(undefined, { timeout: TIMEOUT_MS });
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES]);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, 'object', `${tool.name} input schema`);
      assert.ok(tool.description && tool.description.length > 20, `${tool.name} has a description`);
    }
    const register = tools.find((t) => t.name === 'register_session');
    assert.deepEqual(register.inputSchema.required, ['name']);
  });

  test('register, publish (broadcast + DM), resume reads exactly what came after registration, ack, unregister', async () => {
    // Two sessions on one (unique) machine; A's cwd is inside a worktree, so its repo is the component before .worktrees.
    const a = await call('register_session', {
      name: 'e2e-alice',
      machine,
      cwd: '/work/acme/.worktrees/feature-x',
      client_id: 'alice-client',
    });
    const b = await call('register_session', { name: 'e2e-bob', machine, cwd: '/work/widgets', client_id: 'bob-client' });

    for (const [s, name] of [[a, 'e2e-alice'], [b, 'e2e-bob']]) {
      assert.equal(s.name, name);
      assert.equal(s.machine, machine);
      assert.equal(s.resumed, false);
      assert.match(s.display_id, /^[a-z]+-[a-z]+$/, 'display_id looks like adjective-dinosaur');
      assert.match(s.cursor, /^\d+$/, 'cursor is a decimal string');
      assert.notEqual(s.session_id, 'alice-client', 'session_id is never the raw client_id');
      assert.notEqual(s.session_id, 'bob-client', 'session_id is never the raw client_id');
    }
    assert.notEqual(a.session_id, b.session_id);
    assert.equal(a.repo, 'acme');
    assert.equal(b.repo, 'widgets');
    assert.ok(b.active_sessions >= 2, `two sessions are live (active_sessions=${b.active_sessions})`);
    assert.ok(Number(b.cursor) > Number(a.cursor), "B's registration event comes after A's");

    const broadcast = await call('publish_event', {
      session_id: a.session_id,
      event_type: 'e2e_note',
      payload: 'hello everyone',
    });
    assert.deepEqual(
      { ...broadcast, event_id: undefined },
      { event_id: undefined, event_type: 'e2e_note', payload: 'hello everyone', channel: 'all', signal_level: 'info' },
    );
    const dmChannel = `session:${b.session_id}`;
    const dm = await call('publish_event', {
      session_id: a.session_id,
      event_type: 'e2e_dm',
      payload: 'hi bob, just you',
      channel: dmChannel,
      correlation_id: 'corr-1',
    });
    assert.equal(dm.channel, dmChannel);
    assert.equal(dm.signal_level, 'actionable', 'a DM defaults to actionable');
    assert.equal(dm.correlation_id, 'corr-1');
    assert.ok(dm.event_id > broadcast.event_id);

    // B registered after A: B's resume read is exactly [broadcast, dm], oldest first with order=asc.
    const bRead = await call('get_events', { session_id: b.session_id, resume: true, order: 'asc' });
    assert.deepEqual(
      bRead.events.map((e) => [e.id, e.event_type, e.payload, e.channel, e.session_id]),
      [
        [broadcast.event_id, 'e2e_note', 'hello everyone', 'all', a.session_id],
        [dm.event_id, 'e2e_dm', 'hi bob, just you', dmChannel, a.session_id],
      ],
    );
    assert.equal(bRead.has_more, false);
    assert.equal(bRead.next_cursor, String(dm.event_id));
    for (const e of bRead.events) {
      assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, 'ISO 8601 UTC timestamp');
    }

    // A registered before B, so A's first resume read also has B's session_registered event; default order is desc.
    const aRead = await call('get_events', { session_id: a.session_id, resume: true });
    assert.deepEqual(
      aRead.events.map((e) => [e.id, e.event_type]),
      [
        [dm.event_id, 'e2e_dm'],
        [broadcast.event_id, 'e2e_note'],
        [Number(b.cursor), 'session_registered'],
      ],
    );
    const registered = aRead.events[2];
    assert.equal(registered.session_id, b.session_id);
    assert.equal(registered.payload, `e2e-bob started on ${machine} in /work/widgets`);
    assert.equal(registered.signal_level, 'lifecycle');

    // The cursor was saved: nothing new on the next resume read.
    const again = await call('get_events', { session_id: b.session_id, resume: true });
    assert.deepEqual(again.events, []);
    assert.equal(again.has_more, false);

    // ack_events: rewinding needs allow_rewind; afterwards the same two events are read again.
    const refused = await call('ack_events', { session_id: b.session_id, cursor: b.cursor });
    assert.ok(refused.error, `rewinding without allow_rewind is refused: ${JSON.stringify(refused)}`);
    assert.equal(refused.cursor, String(dm.event_id), 'the refusal reports the saved cursor');

    const rewound = await call('ack_events', { session_id: b.session_id, cursor: b.cursor, allow_rewind: true });
    assert.deepEqual(rewound, {
      success: true,
      session_id: b.session_id,
      cursor: b.cursor,
      previous_cursor: String(dm.event_id),
    });
    const reread = await call('get_events', { session_id: b.session_id, resume: true, order: 'asc' });
    assert.deepEqual(reread.events.map((e) => e.id), [broadcast.event_id, dm.event_id]);

    const ahead = await call('ack_events', { session_id: b.session_id, cursor: String(dm.event_id + 1000) });
    assert.ok(ahead.error, 'a cursor ahead of the newest event is refused');
    assert.ok(Number(ahead.tip) >= dm.event_id, `the refusal reports the tip: ${JSON.stringify(ahead)}`);

    // Both sessions are listed with their implied subscriptions; A's DM channel has one subscriber.
    const sessions = await call('list_sessions');
    const mine = sessions.filter((s) => s.machine === machine);
    assert.deepEqual(mine.map((s) => s.session_id).sort(), [a.session_id, b.session_id].sort());
    const listedA = mine.find((s) => s.session_id === a.session_id);
    assert.deepEqual(
      [...listedA.subscribed_channels].sort(),
      ['all', `machine:${machine}`, 'repo:acme', `session:${a.session_id}`].sort(),
    );
    const channels = await call('list_channels');
    assert.deepEqual(channels.find((c) => c.channel === `session:${a.session_id}`), {
      channel: `session:${a.session_id}`,
      subscribers: 1,
    });

    // Unregister A: success, then reads and a second unregister say the session is deleted.
    const gone = await call('unregister_session', { session_id: a.session_id });
    assert.equal(gone.success, true);
    assert.equal(gone.session_id, a.session_id);
    assert.equal(gone.display_id, a.display_id);

    const deletedRead = await call('get_events', { session_id: a.session_id, resume: true });
    assert.equal(deletedRead.error, 'Session deleted');
    assert.equal(deletedRead.session_deleted, true);
    assert.equal(deletedRead.session_id, a.session_id);

    const twice = await call('unregister_session', { session_id: a.session_id });
    assert.equal(twice.error, 'Session deleted');

    // Publishing as the unregistered session still stores the event and flags it.
    const late = await call('publish_event', { session_id: a.session_id, event_type: 'e2e_note', payload: 'still here?' });
    assert.equal(late.session_deleted, true);
    assert.ok(late.event_id > dm.event_id);

    // B sees A's session_unregistered event and the late publish, nothing else.
    const bLast = await call('get_events', { session_id: b.session_id, resume: true, order: 'asc' });
    assert.deepEqual(
      bLast.events.map((e) => [e.event_type, e.session_id, e.payload]),
      [
        ['session_unregistered', a.session_id, `e2e-alice ended on ${machine}`],
        ['e2e_note', a.session_id, 'still here?'],
      ],
    );

    const done = await call('unregister_session', { session_id: b.session_id });
    assert.equal(done.success, true);
  });

  test('a bad argument is an MCP tool error (isError) with a readable message', async () => {
    const cases = [
      [{ limit: 'lots' }, /limit/],
      [{ limit: 0 }, /limit/],
      [{ order: 'sideways' }, /order/],
      [{ cursor: 'not-a-number' }, /cursor/],
    ];
    for (const [args, mentions] of cases) {
      const result = await client.callTool({ name: 'get_events', arguments: args }, undefined, { timeout: TIMEOUT_MS });
      assert.equal(result.isError, true, `get_events ${JSON.stringify(args)} is a tool error`);
      assert.match(result.content[0].text, mentions, `the message names the bad argument: ${result.content[0].text}`);
    }
    const missing = await client.callTool({ name: 'publish_event', arguments: { payload: 'no type' } }, undefined, {
      timeout: TIMEOUT_MS,
    });
    assert.equal(missing.isError, true, 'publish_event without event_type is a tool error');
    assert.match(missing.content[0].text, /event_type/);
  });

  test('an unknown session gives {error: "Session not found"} as a normal result', async () => {
    const ghost = randomUUID();
    const result = await client.callTool(
      { name: 'get_events', arguments: { session_id: ghost, resume: true } },
      undefined,
      { timeout: TIMEOUT_MS },
    );
    assert.notEqual(result.isError, true, 'a domain refusal is not a tool error');
    assert.deepEqual(toolPayload(result), { error: 'Session not found', session_id: ghost });

    const unregister = await call('unregister_session', { session_id: ghost });
    assert.equal(unregister.error, 'Session not found');
  });

  test('notify answers with its title and message', async () => {
    const result = await call('notify', { title: 'e2e', message: 'from the TypeScript SDK' });
    assert.equal(result.title, 'e2e');
    assert.equal(result.message, 'from the TypeScript SDK');
    assert.equal(typeof result.success, 'boolean');
  });
});

describe('GET SSE stream (raw fetch)', () => {
  test('sends ": keepalive" comments on an idle stream (keep-alive shortened by scripts/e2e.sh)', async () => {
    const sessionId = await rawInitialize();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('no keepalive within the timeout')), TIMEOUT_MS);
    try {
      const res = await fetch(MCP_URL, {
        headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '2025-11-25' },
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);

      const decoder = new TextDecoder();
      let seen = '';
      for await (const chunk of res.body) {
        seen += decoder.decode(chunk, { stream: true });
        if (/(^|\n): keepalive\n/.test(seen)) break;
      }
      assert.match(seen, /(^|\n): keepalive\n/, `stream content: ${JSON.stringify(seen)}`);
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    const closed = await fetch(MCP_URL, { method: 'DELETE', headers: { 'Mcp-Session-Id': sessionId } });
    assert.ok(closed.ok, `DELETE answers 2xx (got ${closed.status})`);
  });
});
