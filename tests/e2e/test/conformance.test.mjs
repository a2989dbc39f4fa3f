// The MCP conformance suite (@modelcontextprotocol/conformance) server scenarios, run against the live server.
// A scenario passes only if the CLI exits 0 and every check it recorded is SUCCESS (or INFO): a WARNING, which the
// CLI itself lets through, fails here too.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2E_DIR, MCP_URL } from '../lib/bus.mjs';
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

// Checks a scenario may leave at WARNING, each with why; every other check of it must pass. server-sse-polling's
// priming-event and retry-field checks must pass; its resume check calls the suite's own fixture tool
// `test_reconnection` (a tool that drops the POST stream mid-call and answers on a GET that resumes it), which the
// bus does not have: an unknown tool is an error, and the check wants a result.
const TOLERATED = {
  'server-sse-polling': ['server-sse-disconnect-resume'],
};

describe('MCP conformance suite (server scenarios)', () => {
  let outRoot;
  before(async () => {
    outRoot = await mkdtemp(join(tmpdir(), 'eventbus-conformance-'));
  });
  after(async () => {
    await rm(outRoot, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    test(scenario, async () => {
      const outDir = join(outRoot, scenario);
      const run = await runNode22([CLI, 'server', '--url', MCP_URL, '--scenario', scenario, '-o', outDir]);
      const transcript = plain(`${run.stdout}\n${run.stderr}`).trim();

      // The CLI writes checks.json into a timestamped folder under the output dir.
      const [resultDir] = await readdir(outDir).catch(() => []);
      assert.ok(resultDir, `no results written for ${scenario}:\n${transcript}`);
      const checks = JSON.parse(await readFile(join(outDir, resultDir, 'checks.json'), 'utf8'));

      assert.ok(checks.length > 0, `${scenario} recorded no checks:\n${transcript}`);
      const tolerated = TOLERATED[scenario] ?? [];
      const bad = checks.filter((c) => c.status !== 'SUCCESS' && c.status !== 'INFO' && !(c.status === 'WARNING' && tolerated.includes(c.id)));
      assert.deepEqual(
        bad.map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description}`),
        [],
        `${scenario} has non-passing checks:\n${transcript}`,
      );
      assert.ok(checks.some((c) => c.status === 'SUCCESS'), `${scenario} has no passing check`);
      assert.equal(run.code, 0, `conformance CLI exit code for ${scenario}:\n${transcript}`);
    });
  }
});
