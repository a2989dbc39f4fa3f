// An MCP client (the official TypeScript SDK) whose notifications/claude/channel pushes land in an inbox a test can
// await: shared by the push tests and the dashboard's browser tests.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { TIMEOUT_MS, toolPayload } from './bus.mjs';

const ChannelNotification = z.object({
  method: z.literal('notifications/claude/channel'),
  params: z.object({ content: z.string(), meta: z.record(z.string(), z.string()) }),
});

/** An MCP client (the official TypeScript SDK) whose channel pushes land in an inbox that can be awaited. */
export async function mcpClient(url, name, token) {
  const client = new Client({ name, version: '0.0.0' });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } });
  const inbox = [];
  const waiters = [];
  client.setNotificationHandler(ChannelNotification, (n) => {
    inbox.push(n.params);
    waiters.splice(0).forEach((wake) => wake());
  });
  await client.connect(transport, { timeout: TIMEOUT_MS });
  const call = async (tool, args = {}) => {
    const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: TIMEOUT_MS });
    assert.notEqual(result.isError, true, `${tool} failed: ${result.content?.[0]?.text}`);
    return toolPayload(result);
  };
  const next = async () => {
    const deadline = Date.now() + TIMEOUT_MS;
    while (inbox.length === 0) {
      const left = deadline - Date.now();
      assert.ok(left > 0, `${name}: no channel notification within ${TIMEOUT_MS} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return inbox.shift();
  };
  const close = async () => {
    await transport.terminateSession().catch(() => {});
    await client.close();
  };
  return { client, call, next, inbox, close };
}
