// The MCP Events extension (draft) through the official TypeScript SDK's low-level request(): the SDK has no events
// API yet, so this is what a client adopting the draft sends. Poll and push must deliver what get_events returns,
// in its order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { MCP_URL, TIMEOUT_MS, toolPayload, uniqueTag } from '../lib/bus.mjs';

const ListResult = z.object({ events: z.array(z.object({ name: z.string() }).passthrough()) }).passthrough();
const PollResult = z
  .object({
    events: z.array(z.object({ eventId: z.string(), name: z.string(), timestamp: z.string(), data: z.record(z.string(), z.unknown()) })),
    cursor: z.string(),
    truncated: z.boolean(),
    hasMore: z.boolean(),
    nextPollMs: z.number(),
  })
  .passthrough();
const AnyResult = z.object({}).passthrough();

describe('MCP Events extension (draft) through the TypeScript SDK', () => {
  /** @type {Client} */
  let client;
  /** @type {StreamableHTTPClientTransport} */
  let transport;
  /** Notifications of the Events extension, in arrival order. */
  const pushed = [];
  let wake = () => {};

  const publish = async (channel, payload) =>
    toolPayload(await client.callTool({ name: 'publish_event', arguments: { channel, event_type: 'note', payload } }, undefined, { timeout: TIMEOUT_MS }))
      .event_id;
  const getEvents = async (cursor, channel) =>
    toolPayload(
      await client.callTool({ name: 'get_events', arguments: { cursor, channel, order: 'asc', limit: 1000 } }, undefined, { timeout: TIMEOUT_MS }),
    ).events;
  const poll = (params) => client.request({ method: 'events/poll', params: { name: 'bus.event', ...params } }, PollResult, { timeout: TIMEOUT_MS });
  const next = async (method, accept = () => true) => {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const index = pushed.findIndex((n) => n.method === method && accept(n.params));
      if (index >= 0) return pushed.splice(index, 1)[0].params;
      assert.ok(Date.now() < deadline, `no ${method} within ${TIMEOUT_MS} ms`);
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };

  before(async () => {
    client = new Client({ name: 'eventbus-e2e-events', version: '0.0.0' });
    for (const method of ['notifications/events/active', 'notifications/events/event', 'notifications/events/heartbeat']) {
      client.setNotificationHandler(z.object({ method: z.literal(method), params: z.record(z.string(), z.unknown()) }), (n) => {
        pushed.push(n);
        wake();
      });
    }
    transport = new StreamableHTTPClientTransport(new URL(MCP_URL));
    await client.connect(transport, { timeout: TIMEOUT_MS });
  });

  after(async () => {
    await transport?.terminateSession();
    await client?.close();
  });

  test('the server declares the events capability, and events/list offers bus.event for poll and push', async () => {
    assert.deepEqual(client.getServerCapabilities()?.experimental?.events, { listChanged: false });
    const { events } = await client.request({ method: 'events/list', params: {} }, ListResult, { timeout: TIMEOUT_MS });
    assert.deepEqual(events.map((e) => e.name), ['bus.event']);
    assert.deepEqual(events[0].delivery, ['poll', 'push']);
    assert.deepEqual(Object.keys(events[0].inputSchema.properties).sort(), ['channel', 'event_types', 'min_level']);
  });

  test('events/poll from a null cursor returns what get_events returns afterwards, in the same order', async () => {
    const channel = uniqueTag('poll');
    const start = await poll({ arguments: { channel }, cursor: null });
    assert.deepEqual(start.events, []);
    for (const n of [1, 2, 3]) await publish(channel, `p${n}`);
    const result = await poll({ arguments: { channel }, cursor: start.cursor });
    assert.equal(result.truncated, false);
    assert.deepEqual(result.events.map((e) => e.data), await getEvents(start.cursor, channel));
    assert.equal(result.events.length, 3);
    assert.equal(result.cursor, result.events[2].eventId);
  });

  test('a stale cursor beyond maxAgeMs skips the old events and sets truncated', async () => {
    const channel = uniqueTag('stale');
    const { cursor } = await poll({ arguments: { channel }, cursor: null });
    const id = await publish(channel, 'old by now');
    const [event] = await getEvents(cursor, channel);
    assert.equal(event.id, id);
    // Wait on the clock itself (no fixed sleep) until the event is older than the 1 ms floor.
    while (Date.now() - Date.parse(event.timestamp) <= 1) await new Promise((resolve) => setImmediate(resolve));
    const result = await poll({ arguments: { channel }, cursor, maxAgeMs: 1 });
    assert.equal(result.truncated, true);
    assert.deepEqual(result.events, []);
    assert.ok(Number(result.cursor) >= id, 'the fresh cursor is past the skipped event');
  });

  test('events/stream pushes the same events in the same order as get_events, each with its cursor and the subscription id', async () => {
    const channel = uniqueTag('push');
    const { cursor } = await poll({ arguments: { channel }, cursor: null });
    const controller = new AbortController();
    const streaming = client
      .request({ method: 'events/stream', params: { name: 'bus.event', arguments: { channel }, cursor } }, AnyResult, {
        signal: controller.signal,
        timeout: 10 * TIMEOUT_MS,
      })
      .catch((error) => error);
    const active = await next('notifications/events/active');
    assert.equal(active.cursor, cursor);
    assert.equal(active.truncated, false);
    const subscription = active._meta['io.modelcontextprotocol/subscriptionId'];

    for (const n of [1, 2, 3]) await publish(channel, `s${n}`);
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await next('notifications/events/event', (p) => p.data?.channel === channel));
    assert.deepEqual(events.map((e) => e.data), await getEvents(cursor, channel));
    for (const e of events) {
      assert.equal(e.cursor, e.eventId);
      assert.equal(e._meta['io.modelcontextprotocol/subscriptionId'], subscription);
    }
    controller.abort();
    assert.ok((await streaming) instanceof Error, 'aborting the request ends the subscription');
  });

  test('webhook delivery is not offered: events/subscribe is Unsupported with the draft\'s data', async () => {
    const error = await client
      .request(
        {
          method: 'events/subscribe',
          params: { name: 'bus.event', arguments: {}, delivery: { mode: 'webhook', url: 'https://example.invalid/h', secret: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } },
        },
        AnyResult,
        { timeout: TIMEOUT_MS },
      )
      .then(
        () => assert.fail('events/subscribe should be refused'),
        (e) => e,
      );
    assert.ok(error instanceof McpError);
    assert.equal(error.code, -32014);
    assert.deepEqual(error.data, { feature: 'deliveryMode', value: 'webhook' });
  });

  test('an unknown event name is NotFound (-32011) with data.kind "event"', async () => {
    const error = await client
      .request({ method: 'events/poll', params: { name: 'no.such', cursor: null } }, PollResult, { timeout: TIMEOUT_MS })
      .then(
        () => assert.fail('should be refused'),
        (e) => e,
      );
    assert.equal(error.code, -32011);
    assert.equal(error.data.kind, 'event');
  });
});
