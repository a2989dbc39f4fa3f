// The MCP conformance suite (@modelcontextprotocol/conformance) server scenarios, run against a server of this test's
// own with the suite's fixture tools on (EventBus:Mcp:ConformanceFixtures: `test_reconnection`, which server-sse-polling
// calls; a real bus never lists it). A scenario passes only if the CLI exits 0 and every check it recorded is SUCCESS
// (or INFO): a WARNING, which the CLI itself lets through, fails here too.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2E_DIR } from '../lib/bus.mjs';
import { startBus } from '../lib/server.mjs';
import { plain, runNode22 } from '../lib/spawn.mjs';

const CLI = join(E2E_DIR, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

const SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
  'logging-set-level',
  'server-sse-polling',
];

// Checks that must be SUCCESS, not just present: server-sse-polling records its resume check as INFO when it could not
// try it (the answer came on the POST stream, or no id to resume with), which would hide a server that never resumes.
const REQUIRED = {
  'server-sse-polling': ['server-sse-priming-event', 'server-sse-retry-field', 'server-sse-disconnect-resume'],
};

describe('MCP conformance suite (server scenarios)', () => {
  let outRoot;
  let bus;
  before(async () => {
    outRoot = await mkdtemp(join(tmpdir(), 'eventbus-conformance-'));
    bus = await startBus({ env: { EventBus__Mcp__ConformanceFixtures: 'true' } });
  });
  after(async () => {
    await bus?.dispose();
    await rm(outRoot, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    test(scenario, async () => {
      const outDir = join(outRoot, scenario);
      const run = await runNode22([CLI, 'server', '--url', `${bus.url}/mcp`, '--scenario', scenario, '-o', outDir]);
      const transcript = plain(`${run.stdout}\n${run.stderr}`).trim();

      // The CLI writes checks.json into a timestamped folder under the output dir.
      const [resultDir] = await readdir(outDir).catch(() => []);
      assert.ok(resultDir, `no results written for ${scenario}:\n${transcript}`);
      const checks = JSON.parse(await readFile(join(outDir, resultDir, 'checks.json'), 'utf8'));

      assert.ok(checks.length > 0, `${scenario} recorded no checks:\n${transcript}`);
      const bad = checks.filter((c) => c.status !== 'SUCCESS' && c.status !== 'INFO');
      assert.deepEqual(
        bad.map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description}`),
        [],
        `${scenario} has non-passing checks:\n${transcript}`,
      );
      assert.ok(checks.some((c) => c.status === 'SUCCESS'), `${scenario} has no passing check`);
      for (const id of REQUIRED[scenario] ?? []) {
        assert.ok(checks.some((c) => c.id === id && c.status === 'SUCCESS'), `${scenario}: ${id} did not pass:\n${transcript}`);
      }
      assert.equal(run.code, 0, `conformance CLI exit code for ${scenario}:\n${transcript}`);
    });
  }
});
