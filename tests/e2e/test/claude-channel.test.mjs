// `eventbus setup claude` + `claude mcp list`: the config our setup writes, read by Claude Code itself. Both entries
// must come up ✔ Connected: the HTTP server ("eventbus") and the stdio channel ("eventbus-channel"), which Claude
// Code spawns as `eventbus channel`. The built CLI is made runnable as `eventbus` by a wrapper script on PATH (no
// `make install` needed). HOME and the project folder are temp folders; approving the project's servers is done the
// way Claude Code's own approval prompt records it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2E_DIR, MCP_URL, TIMEOUT_MS } from '../lib/bus.mjs';
import { findFiles, isolatedClaudeEnv, plain, runNode22 } from '../lib/spawn.mjs';

const CLAUDE = join(E2E_DIR, 'node_modules', '@anthropic-ai', 'claude-code', 'cli-wrapper.cjs');
const ROOT = join(E2E_DIR, '..', '..');

/** The built CLI: $EVENTBUS_CLI_DLL, else the Release build, else the Debug one. */
function cliDll() {
  const candidates = [
    process.env.EVENTBUS_CLI_DLL,
    join(ROOT, 'artifacts', 'bin', 'EventBus.Cli', 'release', 'eventbus.dll'),
    join(ROOT, 'artifacts', 'bin', 'EventBus.Cli', 'debug', 'eventbus.dll'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the eventbus CLI is not built (looked for ${candidates.join(', ')}): dotnet build EventBus.sln -c Release`);
  return found;
}

/** Runs a command to completion: {code, stdout, stderr}. */
function run(file, args, { env, cwd }) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 4 * TIMEOUT_MS, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('Claude Code: eventbus setup claude, then claude mcp list', () => {
  let work;
  let home;
  let project;
  let env;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'eventbus-claude-channel-'));
    home = join(work, 'home');
    project = join(work, 'gizmo');
    const bin = join(work, 'bin');
    await Promise.all([mkdir(home), mkdir(project), mkdir(bin)]);
    // `eventbus` on PATH, as `make install` would put it, but running the build under test.
    await writeFile(join(bin, 'eventbus'), `#!/bin/sh\nexec dotnet "${cliDll()}" "$@"\n`);
    await chmod(join(bin, 'eventbus'), 0o755);
    // A minimal environment: nothing of whoever runs the tests leaks in (no CLAUDE_*, no EVENTBUS_* but the URL).
    env = {
      ...isolatedClaudeEnv(home, [bin, process.env.PATH ?? ''].join(delimiter)),
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
      DOTNET_NOLOGO: '1',
      ...(process.env.DOTNET_ROOT ? { DOTNET_ROOT: process.env.DOTNET_ROOT } : {}),
      EVENTBUS_STATE_DIR: join(work, 'state'),
    };
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('reports the HTTP server and the stdio channel ✔ Connected, the channel as Claude Code session', async () => {
    const setup = await run('eventbus', ['setup', 'claude'], { env: { ...env, EVENTBUS_URL: MCP_URL }, cwd: project });
    assert.equal(setup.code, 0, `eventbus setup claude: ${setup.stdout}${setup.stderr}`);
    const mcp = JSON.parse(await readFile(join(project, '.mcp.json'), 'utf8'));
    assert.deepEqual(mcp.mcpServers['eventbus-channel'].args, ['channel']);
    const settings = JSON.parse(await readFile(join(project, '.claude', 'settings.json'), 'utf8'));
    const commands = Object.values(settings.hooks).flat().flatMap((g) => g.hooks.map((h) => h.command));
    for (const hook of ['session-start', 'prompt', 'stop', 'rewake']) {
      assert.ok(commands.some((c) => c.startsWith(`eventbus hook ${hook}`)), `hook ${hook} in ${JSON.stringify(settings.hooks)}`);
    }

    // What answering "yes" to Claude Code's "use this project's MCP servers?" prompt records.
    await writeFile(
      join(home, '.claude.json'),
      JSON.stringify({ projects: { [project]: { hasTrustDialogAccepted: true, enabledMcpjsonServers: ['eventbus', 'eventbus-channel'] } } }),
    );

    // EVENTBUS_URL is not set here: the channel finds the bus through the env that setup wrote into its entry.
    const list = await runNode22([CLAUDE, 'mcp', 'list'], { env, cwd: project });
    const output = plain(`${list.stdout}\n${list.stderr}`);
    const lines = output.split('\n').map((l) => l.trim());
    assert.equal(lines.find((l) => l.startsWith('eventbus: ')), `eventbus: ${MCP_URL} (HTTP) - ✔ Connected`, `claude mcp list said:\n${output}`);
    assert.equal(lines.find((l) => l.startsWith('eventbus-channel: ')), 'eventbus-channel: eventbus channel - ✔ Connected', `claude mcp list said:\n${output}`);

    // Claude Code's log of the channel: the stdio server it spawned, what it negotiated, and that the channel was
    // started with Claude Code's own session id (the client id it registers, the same one the hooks get on stdin).
    const logs = await findFiles(join(home, '.cache'), 'mcp-logs-eventbus-channel');
    assert.ok(logs.length > 0, 'Claude Code wrote an MCP log for eventbus-channel');
    const entries = (await Promise.all(logs.map((p) => readFile(p, 'utf8'))))
      .join('\n').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const established = entries.map((e) => e.debug ?? '').find((d) => d.startsWith('Connection established with capabilities: '));
    assert.ok(established, `no 'Connection established' entry in the channel's MCP log:\n${JSON.stringify(entries, null, 1)}`);
    const caps = JSON.parse(established.slice('Connection established with capabilities: '.length));
    assert.equal(caps.serverVersion?.name, 'eventbus-channel');
    assert.equal(caps.hasTools, true);
    assert.equal(caps.negotiatedProtocolVersion, '2025-11-25');
    const started = entries.find((e) => (e.error ?? '').includes('eventbus channel started'));
    assert.ok(started, 'the channel logged its start on stderr');
    assert.match(started.error, new RegExp(`Claude Code session ${started.sessionId}`));
  });
});
