// HTTP edge cases of the Streamable HTTP binding, from real clients (undici's fetch and node:http).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { describe, test } from 'node:test';
import { MCP_URL, POST_HEADERS, TIMEOUT_MS, postMcp, rawInitialize } from '../lib/bus.mjs';

const toolsList = { jsonrpc: '2.0', id: 7, method: 'tools/list' };

/** Reads a JSON error body and returns it (the server answers errors as JSON-RPC error objects). */
async function jsonBody(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`expected a JSON body, got ${res.status} ${res.headers.get('content-type')}: ${text.slice(0, 300)}`);
  }
}

/** node:http lets us send a Host header that fetch would not. */
function rawRequest(headers, body) {
  const url = new URL(MCP_URL);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, timeout: TIMEOUT_MS },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP edge cases', () => {
  test('an unknown Mcp-Session-Id is 404', async () => {
    const res = await postMcp(toolsList, { 'Mcp-Session-Id': randomUUID(), 'MCP-Protocol-Version': '2025-11-25' });
    assert.equal(res.status, 404);
    const body = await jsonBody(res);
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(typeof body.error?.code, 'number');
  });

  test('an Accept header without text/event-stream is 406', async () => {
    const res = await postMcp(toolsList, { Accept: 'application/json' });
    assert.equal(res.status, 406);
    assert.match((await jsonBody(res)).error.message, /Accept/);
  });

  test('a foreign Origin is 403', async () => {
    const res = await postMcp(toolsList, { Origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.match((await jsonBody(res)).error.message, /Origin/);
  });

  test('a loopback Origin is allowed', async () => {
    const res = await postMcp(toolsList, { Origin: 'http://localhost:6274' });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  test('a foreign Host (DNS rebinding) is 403', async () => {
    const body = JSON.stringify(toolsList);
    const res = await rawRequest({ ...POST_HEADERS, Host: 'evil.example', 'Content-Length': Buffer.byteLength(body) }, body);
    assert.equal(res.status, 403, res.text);
  });

  test('a non-JSON body is 400 with JSON-RPC parse error -32700', async () => {
    const res = await postMcp('this is {not json');
    assert.equal(res.status, 400);
    const body = await jsonBody(res);
    assert.equal(body.error?.code, -32700);
    assert.equal(body.id ?? null, null);
  });

  test('an unsupported MCP-Protocol-Version is 400', async () => {
    const sessionId = await rawInitialize();
    const res = await postMcp(toolsList, { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '1999-01-01' });
    assert.equal(res.status, 400);
    assert.match((await jsonBody(res)).error.message, /1999-01-01|version/i);
    await fetch(MCP_URL, { method: 'DELETE', headers: { 'Mcp-Session-Id': sessionId } });
  });

  test('a body over 1 MiB is 413', async () => {
    const huge = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'notify', arguments: { title: 'big', message: 'x'.repeat(1024 * 1024 + 16) } },
    });
    const res = await postMcp(huge);
    assert.equal(res.status, 413);
    await res.body?.cancel();
  });

  test('server/discover is JSON-RPC -32601 (method not found)', async () => {
    const res = await postMcp({ jsonrpc: '2.0', id: 'd1', method: 'server/discover', params: {} });
    assert.equal(res.status, 200, 'a JSON-RPC error travels in a 200 response');
    const json = await jsonBody(res);
    assert.equal(json.id, 'd1');
    assert.equal(json.error?.code, -32601);
  });

  test('GET /mcp without a session id is refused with 400', async () => {
    const res = await fetch(MCP_URL, { headers: { Accept: 'text/event-stream' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(res.status, 400);
    await res.body?.cancel();
  });

  test('DELETE closes a session: a later POST with its id is 404', async () => {
    const sessionId = await rawInitialize();
    const headers = { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '2025-11-25' };

    const before = await postMcp(toolsList, headers);
    assert.equal(before.status, 200, 'the session works before DELETE');
    await before.body?.cancel();

    const closed = await fetch(MCP_URL, { method: 'DELETE', headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.ok(closed.status === 200 || closed.status === 204, `DELETE answers 200/204 (got ${closed.status})`);
    await closed.body?.cancel();

    const after = await postMcp(toolsList, headers);
    assert.equal(after.status, 404);
    await after.body?.cancel();
  });
});
