// The EventBus plugin (this repository is its marketplace) through Claude Code's own CLI: validate, marketplace add,
// install with the bus URL as user configuration, details, and `claude mcp list` reporting the plugin's HTTP server and
// stdio channel ✔ Connected. `eventbus` is the build under test, on PATH through a wrapper (as `make install` puts the
// dotnet tool there). HOME and the project folder are temp folders.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2E_DIR, MCP_URL } from '../lib/bus.mjs';
import { findFiles, isolatedClaudeEnv, plain, runNode22 } from '../lib/spawn.mjs';

const CLAUDE = join(E2E_DIR, 'node_modules', '@anthropic-ai', 'claude-code', 'cli-wrapper.cjs');
const ROOT = join(E2E_DIR, '..', '..');

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

describe('Claude Code: the eventbus plugin from this repository', () => {
  let work;
  let home;
  let project;
  let claude;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'eventbus-claude-plugin-'));
    home = join(work, 'home');
    project = join(work, 'gizmo');
    const bin = join(work, 'bin');
    await Promise.all([mkdir(home), mkdir(project), mkdir(bin)]);
    await writeFile(join(bin, 'eventbus'), `#!/bin/sh\nexec dotnet "${cliDll()}" "$@"\n`);
    await chmod(join(bin, 'eventbus'), 0o755);
    // No EVENTBUS_* here: the plugin's user configuration is the only way the bus's URL reaches its servers.
    const env = {
      ...isolatedClaudeEnv(home, [bin, process.env.PATH ?? ''].join(delimiter)),
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
      DOTNET_NOLOGO: '1',
      ...(process.env.DOTNET_ROOT ? { DOTNET_ROOT: process.env.DOTNET_ROOT } : {}),
      EVENTBUS_STATE_DIR: join(work, 'state'),
    };
    claude = async (...args) => {
      const result = await runNode22([CLAUDE, ...args], { env, cwd: project });
      return { ...result, output: plain(`${result.stdout}\n${result.stderr}`) };
    };
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('validates, installs from the marketplace, lists its parts, and its servers connect', async () => {
    const validate = await claude('plugin', 'validate', ROOT);
    assert.equal(validate.code, 0, validate.output);
    assert.match(validate.output, /✔ Validation passed/);
    assert.match(validate.output, /monitors: eventbus-events "eventbus monitor"/);

    const added = await claude('plugin', 'marketplace', 'add', ROOT);
    assert.equal(added.code, 0, added.output);
    assert.match(added.output, /Successfully added marketplace: eventbus/);

    const installed = await claude('plugin', 'install', 'eventbus@eventbus', '--config', `url=${MCP_URL}`);
    assert.equal(installed.code, 0, installed.output);
    assert.match(installed.output, /Successfully installed plugin: eventbus@eventbus/);

    const details = await claude('plugin', 'details', 'eventbus');
    assert.equal(details.code, 0, details.output);
    assert.match(details.output, /Skills \(1\)\s+eventbus/);
    assert.match(details.output, /Hooks \(3\)\s+SessionStart, UserPromptSubmit, Stop/);
    assert.match(details.output, /MCP servers \(2\)\s+eventbus, eventbus-channel/);

    const list = await claude('mcp', 'list');
    const lines = list.output.split('\n').map((l) => l.trim());
    assert.equal(lines.find((l) => l.startsWith('plugin:eventbus:eventbus: ')), `plugin:eventbus:eventbus: ${MCP_URL} (HTTP) - ✔ Connected`, list.output);
    assert.equal(
      lines.find((l) => l.startsWith('plugin:eventbus:eventbus-channel: ')),
      'plugin:eventbus:eventbus-channel: eventbus channel --delivery monitor - ✔ Connected',
      `the channel leaves delivery to the monitor unless EVENTBUS_DELIVERY=channel:\n${list.output}`,
    );

    // The channel reached the bus named in the plugin's configuration (its log names the URL it uses).
    const logs = await findFiles(join(home, '.cache'), 'eventbus-channel');
    const log = (await Promise.all(logs.map((p) => readFile(p, 'utf8')))).join('\n');
    assert.ok(log.includes(`eventbus channel started for the bus at ${MCP_URL}`), `the channel's MCP log:\n${log}`);
  });
});
