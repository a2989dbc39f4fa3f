// Claude Code (@anthropic-ai/claude-code) as a client: `claude mcp add` + `claude mcp list` with HOME in a temp folder.
// `mcp list` connects to each configured server (initialize + tools) and needs no API key or model. It exits 0 even
// when a server fails, so the test reads its output; a second entry on a closed port proves the check can fail.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2E_DIR, MCP_URL } from '../lib/bus.mjs';
import { findFiles, isolatedClaudeEnv, plain, runNode22 } from '../lib/spawn.mjs';

// The launcher that finds the platform's native binary; works whether or not npm ran the package's postinstall.
const CLAUDE = join(E2E_DIR, 'node_modules', '@anthropic-ai', 'claude-code', 'cli-wrapper.cjs');

/** A loopback port with nothing listening on it. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe('Claude Code: claude mcp list', () => {
  let home;
  let claude;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'eventbus-claude-home-'));
    // A minimal environment: no settings, credentials or CLAUDE_* variables of whoever runs the tests leak in.
    const env = isolatedClaudeEnv(home);
    // cwd is the temp HOME too, so no project .mcp.json of this repository is picked up.
    claude = (...args) => runNode22([CLAUDE, ...args], { env, cwd: home });
  });

  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('reports the EventBus server as ✔ Connected (and a dead one as failed)', async () => {
    const version = await claude('--version');
    assert.equal(version.code, 0, `claude --version: ${version.stderr}`);
    assert.match(version.stdout, /^2\.1\.332 \(Claude Code\)/);

    const added = await claude('mcp', 'add', '--transport', 'http', '--scope', 'user', 'eventbus', MCP_URL);
    assert.equal(added.code, 0, `claude mcp add: ${added.stdout}${added.stderr}`);
    const deadUrl = `http://127.0.0.1:${await closedPort()}/mcp`;
    const addedDead = await claude('mcp', 'add', '--transport', 'http', '--scope', 'user', 'deadbus', deadUrl);
    assert.equal(addedDead.code, 0, `claude mcp add deadbus: ${addedDead.stdout}${addedDead.stderr}`);

    const list = await claude('mcp', 'list');
    const output = plain(`${list.stdout}\n${list.stderr}`);
    const lines = output.split('\n').map((l) => l.trim());
    const line = (name) => lines.find((l) => l.startsWith(`${name}: `));

    assert.equal(line('eventbus'), `eventbus: ${MCP_URL} (HTTP) - ✔ Connected`, `claude mcp list said:\n${output}`);
    assert.match(line('deadbus') ?? '', /✘/, `the closed port must be reported as failed:\n${output}`);

    // Claude Code's own MCP log for the server: what it negotiated and saw.
    const logs = await findFiles(join(home, '.cache'), 'mcp-logs-eventbus');
    assert.ok(logs.length > 0, 'Claude Code wrote an MCP log for eventbus');
    const log = (await Promise.all(logs.map((p) => readFile(p, 'utf8')))).join('\n');
    const established = log
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).debug ?? '')
      .find((d) => d.startsWith('Connection established with capabilities: '));
    assert.ok(established, `no 'Connection established' entry in the MCP log:\n${log}`);
    const caps = JSON.parse(established.slice('Connection established with capabilities: '.length));
    assert.equal(caps.hasTools, true);
    assert.equal(caps.serverVersion?.name, 'eventbus');
    assert.equal(caps.negotiatedProtocolVersion, '2025-11-25');
  });
});
