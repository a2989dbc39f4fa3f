// The MCP Events extension (draft) through the official TypeScript SDK's low-level request(): the SDK has no events
// API yet, so this is what a client adopting the draft sends. Poll, push and webhook delivery must deliver what
// get_events returns, in its order.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { MCP_URL, TIMEOUT_MS, toolPayload, uniqueTag } from '../lib/bus.mjs';
import { startBus } from '../lib/dashboard.mjs';

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
const SubscribeResult = z
  .object({ id: z.string(), refreshBefore: z.string().nullable(), cursor: z.string().nullable(), truncated: z.boolean() })
  .passthrough();

/** A Standard Webhooks secret as the draft wants the client to make it: whsec_ and the base64 of 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** The Standard Webhooks v1 signature of a request, with the client's secret. */
const sign = (secret, id, timestamp, body) =>
  `v1,${createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/** Expects a JSON-RPC error from a request; returns it. */
const refused = (promise) =>
  promise.then(
    () => assert.fail('the request should be refused'),
    (e) => e,
  );

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

  test('the server declares the events capability, and events/list offers bus.event for poll, push and webhook', async () => {
    assert.deepEqual(client.getServerCapabilities()?.experimental?.events, { listChanged: false });
    const { events } = await client.request({ method: 'events/list', params: {} }, ListResult, { timeout: TIMEOUT_MS });
    assert.deepEqual(events.map((e) => e.name), ['bus.event']);
    assert.deepEqual(events[0].delivery, ['poll', 'push', 'webhook']);
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

  test('events/subscribe needs an https callback here (private receivers are not allowed): InvalidParams', async () => {
    const error = await refused(
      client.request(
        { method: 'events/subscribe', params: { name: 'bus.event', arguments: {}, delivery: { mode: 'webhook', url: 'http://127.0.0.1:9/h', secret: newSecret() } } },
        AnyResult,
        { timeout: TIMEOUT_MS },
      ),
    );
    assert.ok(error instanceof McpError);
    assert.equal(error.code, -32602);
    assert.match(error.message, /https:\/\//);
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

// Webhook delivery needs a receiver on this machine: a bus of its own that allows private receivers (as a deployment
// with its receivers on its own network would), and a plain node:http receiver that verifies every signature.
describe('MCP Events webhook delivery (events/subscribe) through the TypeScript SDK', () => {
  let bus;
  let receiver;
  let hookUrl;
  /** @type {Client} */
  let client;
  /** Requests the receiver got, in arrival order: {headers, body}. */
  const received = [];
  let arrived = () => {};

  const until = async (condition) => {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `not within ${TIMEOUT_MS} ms; received: ${JSON.stringify(received.map((r) => r.body))}`);
      await new Promise((resolve) => {
        arrived = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  const deliveries = () => received.filter((r) => !('type' in JSON.parse(r.body)));
  const subscribe = (params) =>
    client.request({ method: 'events/subscribe', params: { name: 'bus.event', ...params } }, SubscribeResult, { timeout: TIMEOUT_MS });
  const unsubscribe = (params) => client.request({ method: 'events/unsubscribe', params: { name: 'bus.event', ...params } }, AnyResult, { timeout: TIMEOUT_MS });

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        const message = JSON.parse(body);
        // The draft's endpoint verification: echo the challenge to agree to receive deliveries.
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(message.type === 'verification' ? JSON.stringify({ challenge: message.challenge }) : '{}');
        arrived();
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    bus = await startBus({ env: { EventBus__Webhooks__AllowPrivateNetworks: 'true' } });
    client = new Client({ name: 'eventbus-e2e-webhooks', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${bus.url}/mcp`)), { timeout: TIMEOUT_MS });
  });

  after(async () => {
    await client?.close();
    await bus?.dispose();
    receiver?.close();
  });

  test('subscribe, receive signed EventOccurrences in get_events order, refresh (same id), unsubscribe', async () => {
    const channel = uniqueTag('hook');
    const secret = newSecret();
    const sub = await subscribe({ arguments: { channel }, delivery: { mode: 'webhook', url: hookUrl, secret }, cursor: null, ttlMs: 600_000 });
    assert.match(sub.id, /^sub_[0-9a-f]{32}$/);
    assert.equal(sub.truncated, false);
    assert.ok(Date.parse(sub.refreshBefore) > Date.now(), 'a finite grant in the future');
    const verification = received.find((r) => JSON.parse(r.body).type === 'verification');
    assert.ok(verification, 'the endpoint is verified before anything is delivered');
    assert.equal(verification.headers['x-mcp-subscription-id'], sub.id);

    const published = [];
    for (const n of [1, 2, 3]) {
      published.push(
        toolPayload(await client.callTool({ name: 'publish_event', arguments: { channel, event_type: 'note', payload: `w${n}` } }, undefined, { timeout: TIMEOUT_MS }))
          .event_id,
      );
    }
    await until(() => deliveries().length >= 3);
    const expected = toolPayload(
      await client.callTool({ name: 'get_events', arguments: { cursor: sub.cursor, channel, order: 'asc', limit: 1000 } }, undefined, { timeout: TIMEOUT_MS }),
    ).events;
    const bodies = deliveries().map((r) => JSON.parse(r.body));
    assert.deepEqual(bodies.map((b) => b.data), expected, 'the same events, in the same order, as get_events');
    assert.deepEqual(bodies.map((b) => Number(b.eventId)), published);
    for (const r of deliveries()) {
      const body = JSON.parse(r.body);
      assert.equal(body.name, 'bus.event');
      assert.equal(r.headers['webhook-id'], body.eventId);
      assert.equal(r.headers['x-mcp-subscription-id'], sub.id);
      assert.equal(r.headers['webhook-signature'], sign(secret, r.headers['webhook-id'], r.headers['webhook-timestamp'], r.body));
    }

    const refreshed = await subscribe({ arguments: { channel }, delivery: { mode: 'webhook', url: hookUrl, secret }, cursor: bodies[2].cursor });
    assert.equal(refreshed.id, sub.id, 'the same key is the same subscription');
    assert.equal(refreshed.deliveryStatus.active, true);
    assert.equal(refreshed.cursor, bodies[2].cursor, 'nothing pending: the watermark is the last delivered event');

    assert.deepEqual(await unsubscribe({ arguments: { channel }, delivery: { url: hookUrl } }), {});
    const again = await refused(unsubscribe({ arguments: { channel }, delivery: { url: hookUrl } }));
    assert.equal(again.code, -32011);
    assert.equal(again.data.kind, 'subscription');
  });

  test('a callback endpoint that does not echo the challenge is CallbackEndpointError (-32015)', async () => {
    const silent = createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end('ok')));
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const error = await refused(
        subscribe({ arguments: {}, delivery: { url: `http://127.0.0.1:${silent.address().port}/h`, secret: newSecret() }, cursor: null }),
      );
      assert.equal(error.code, -32015);
      assert.deepEqual(error.data, { reason: 'challenge_failed' });
    } finally {
      silent.close();
    }
  });
});
