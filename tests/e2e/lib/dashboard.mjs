// Helpers for the dashboard's browser tests: servers of their own (a restart, a token store), Debian's chromium driven
// by playwright-core, MCP clients, and screenshots under the test output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { E2E_DIR, TIMEOUT_MS } from './bus.mjs';

/** Where screenshots go (scripts/e2e.sh sets it under artifacts/; a reviewer opens them there). */
export const SCREENSHOT_DIR = process.env.EVENTBUS_SCREENSHOTS ?? join(E2E_DIR, 'output', 'screenshots');
const SERVER_DLL = process.env.EVENTBUS_SERVER_DLL;
const CLI_DLL = process.env.EVENTBUS_CLI_DLL;
const CHROMIUM = process.env.EVENTBUS_CHROMIUM ?? '/usr/bin/chromium';

export function requirements() {
  const missing = [];
  if (!SERVER_DLL || !existsSync(SERVER_DLL)) missing.push(`EVENTBUS_SERVER_DLL (${SERVER_DLL})`);
  if (!CLI_DLL || !existsSync(CLI_DLL)) missing.push(`EVENTBUS_CLI_DLL (${CLI_DLL})`);
  if (!existsSync(CHROMIUM)) missing.push(`chromium at ${CHROMIUM}`);
  assert.deepEqual(missing, [], 'run through scripts/e2e.sh, which builds paths and installs chromium');
}

export { startBus } from './server.mjs';

/** Creates a token in the bus's database with the eventbus CLI; returns its secret. */
export async function createToken(db, name, scope) {
  const { stdout } = await promisify(execFile)('dotnet', [CLI_DLL, 'token', 'create', '--name', name, '--scope', scope, '--db', db]);
  const secret = stdout.split('\n')[0].trim();
  assert.match(secret, /^ebt_/);
  return secret;
}


export { mcpClient } from './channel-client.mjs';

/** Headless Debian chromium through playwright-core (its own browser download is not used). */
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A page that fails the test on any script error and records the requests it made. */
export async function openPage(browser, { viewport = { width: 1280, height: 800 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const errors = [];
  const responses = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status() }));
  return { page, context, errors, responses };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Publishes through REST (anonymous, or with a token). */
export async function publishRest(url, event, token) {
  const res = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(event),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text);
}
