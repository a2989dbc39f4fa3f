// Servers of a test's own (the dashboard's restart and token tests, the conformance suite with its fixtures): the
// EventBus.Server scripts/e2e.sh built, a temp database, a free loopback port.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TIMEOUT_MS } from './bus.mjs';

const SERVER_DLL = process.env.EVENTBUS_SERVER_DLL;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A server of this test's own: a temp database, a fixed free port (kept across restarts), stopped by stop().
 * `env` adds settings (e.g. `EventBus__Mcp__ConformanceFixtures`).
 */
export async function startBus({ env = {} } = {}) {
  if (!SERVER_DLL) {
    throw new Error('EVENTBUS_SERVER_DLL is not set: run these tests through scripts/e2e.sh, which builds the server.');
  }
  const dir = mkdtempSync(join(tmpdir(), 'eventbus-e2e-own-'));
  const db = join(dir, 'bus.db');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child = null;
  let log = '';

  // Started when the server says where it listens (its start-up log line): waits on that, not on a timer.
  async function start() {
    child = spawn('dotnet', [SERVER_DLL, '--port', String(port), '--db', db], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = log.length;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line from the server at ${url}:\n${log}`)), 2 * TIMEOUT_MS);
      const onData = (c) => {
        log += c;
        if (log.slice(started).includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', (c) => (log += c));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) during start-up:\n${log}`));
      });
    });
  }

  async function stop() {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  await start();
  return {
    url, db, port, log: () => log,
    stop,
    restart: async () => { await stop(); await start(); },
    dispose: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}
