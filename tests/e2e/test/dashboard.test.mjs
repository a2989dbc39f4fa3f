// The dashboard in a real browser: Debian's headless chromium driven by playwright-core, against servers of these
// tests' own (one open on loopback, restarted mid-test; one with a token store). A screenshot of each view is written
// under the test output (EVENTBUS_SCREENSHOTS, by default tests/e2e/output/screenshots).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { TIMEOUT_MS, uniqueTag } from '../lib/bus.mjs';
import {
  createToken, launchBrowser, mcpClient, openPage, publishRest, requirements, screenshot, startBus,
} from '../lib/dashboard.mjs';

let browser;

before(async () => {
  requirements();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** The live stream row showing this text (there must be exactly one at the end of each check). */
const rows = (page, text) => page.locator('.events .ev', { hasText: text });

describe('dashboard on an open loopback bus', () => {
  let bus;
  let view;
  const clients = [];

  before(async () => {
    bus = await startBus();
    view = await openPage(browser);
    await view.page.goto(`${bus.url}/`);
    await view.page.getByRole('status').filter({ hasText: 'live' }).waitFor();
  });

  after(async () => {
    for (const c of clients) await c.close();
    await view?.context.close();
    await bus?.dispose();
    assert.deepEqual(view?.errors ?? [], [], 'no script errors on the page');
  });

  test('two sessions registered through MCP appear in Sessions; the one that unregisters greys out', async () => {
    const { page } = view;
    const machine = uniqueTag('dash');
    const ada = await mcpClient(bus.url, 'dash-ada');
    const bob = await mcpClient(bus.url, 'dash-bob');
    clients.push(ada, bob);
    const a = await ada.call('register_session', { name: 'ada-refactor', machine, cwd: '/src/eventbus' });
    const b = await bob.call('register_session', { name: 'bob-docs', machine, cwd: '/src/docs' });

    await page.goto(`${bus.url}/#/sessions`);
    const adaCard = page.locator(`.session[data-session-id="${a.session_id}"]`);
    const bobCard = page.locator(`.session[data-session-id="${b.session_id}"]`);
    await adaCard.waitFor();
    await bobCard.waitFor();
    assert.match(await adaCard.textContent(), /ada-refactor.*eventbus/s);
    assert.match(await adaCard.textContent(), new RegExp(a.display_id));

    await bob.call('unregister_session', { session_id: b.session_id });
    await page.locator(`.session.ended[data-session-id="${b.session_id}"]`).waitFor();
    assert.equal(await page.locator(`.session.live[data-session-id="${a.session_id}"]`).count(), 1, 'ada is still live');
    await screenshot(page, 'sessions');

    await page.goto(`${bus.url}/#/session/${encodeURIComponent(a.session_id)}`);
    await page.getByRole('heading', { name: /ada-refactor/ }).waitFor();
    await screenshot(page, 'session');
  });

  test('an event published through MCP appears in the live stream without a reload', async () => {
    const { page } = view;
    await page.goto(`${bus.url}/#/stream`);
    const [publisher] = clients;
    const text = uniqueTag('live-event');
    const navigations = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    const sent = Date.now();
    await publisher.call('publish_event', {
      event_type: 'ci_failed', payload: JSON.stringify({ build: 42, text }), channel: 'repo:eventbus', title: 'Build 42 red',
    });
    await rows(page, text).waitFor();
    console.log(`# live event shown ${Date.now() - sent} ms after the publish call`);
    assert.deepEqual(navigations, [], 'no reload');

    await page.getByPlaceholder('repo:* or alerts:#').fill('alerts:#');
    assert.equal(await rows(page, text).count(), 0, 'the channel filter hides repo:eventbus');
    await page.getByPlaceholder('repo:* or alerts:#').fill('repo:*');
    await rows(page, text).waitFor();
    await screenshot(page, 'stream');

    await rows(page, text).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.locator('pre.payload').textContent(), /\{\n {2}"build": 42,/, 'the JSON payload is pretty-printed');
    await screenshot(page, 'event-detail');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByPlaceholder('repo:* or alerts:#').fill('');
  });

  test('after a server restart the stream reconnects and shows what was published meanwhile, once', async () => {
    const { page } = view;
    await page.goto(`${bus.url}/#/stream`);
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    // Hold the page's reconnects until the events are in, so they can only come from the resume (Last-Event-ID).
    await page.route('**/api/v1/stream', (route) => route.abort());
    await bus.restart();
    await page.getByRole('status').filter({ hasText: 'reconnecting' }).waitFor();
    const texts = [uniqueTag('meanwhile-1'), uniqueTag('meanwhile-2'), uniqueTag('meanwhile-3')];
    for (const text of texts) await publishRest(bus.url, { event_type: 'note', payload: text, channel: 'all' });
    await page.unroute('**/api/v1/stream');

    for (const text of texts) await rows(page, text).waitFor();
    // A live event after them: once it is shown, anything shown twice would be shown too.
    const marker = uniqueTag('after-restart');
    await publishRest(bus.url, { event_type: 'note', payload: marker, channel: 'all' });
    await rows(page, marker).waitFor();
    for (const text of texts) assert.equal(await rows(page, text).count(), 1, `${text} is shown exactly once`);
  });

  test('Compose to session:<id> delivers a DM the MCP client of that session receives as a channel push', async () => {
    const { page } = view;
    const carol = await mcpClient(bus.url, 'dash-carol');
    clients.push(carol);
    const c = await carol.call('register_session', { name: 'carol-oncall', machine: uniqueTag('dash') });
    const text = uniqueTag('hello from a person');

    await page.goto(`${bus.url}/#/compose`);
    await page.getByLabel('Channel').fill(`session:${c.session_id}`);
    await page.getByLabel('Message').fill(text);
    await page.getByLabel('Event type').fill('help_needed');
    await page.getByLabel('Level').selectOption('actionable');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('status').filter({ hasText: 'Sent as event' }).waitFor();
    await screenshot(page, 'compose');

    const pushed = await carol.next();
    assert.equal(pushed.meta.channel, `session:${c.session_id}`);
    assert.equal(pushed.meta.event_type, 'help_needed');
    assert.ok(pushed.content.includes(text), pushed.content);
    const sessions = await (await fetch(`${bus.url}/api/v1/sessions`)).json();
    const speaker = sessions.sessions.find((s) => s.name === 'dashboard:local');
    assert.ok(speaker, 'the dashboard spoke as its own session');
    assert.equal(pushed.meta.from, speaker.display_id);
  });

  test('Channels and Health show the bus, the stream fits a phone, and the theme follows the system setting', async () => {
    const { page } = view;
    await page.goto(`${bus.url}/#/channels`);
    await page.getByRole('cell', { name: 'repo:eventbus', exact: true }).waitFor();
    await screenshot(page, 'channels');
    await page.goto(`${bus.url}/#/health`);
    await page.getByText('database size').waitFor();
    await screenshot(page, 'health');

    const phone = await openPage(browser, { viewport: { width: 390, height: 844 } });
    await phone.page.goto(`${bus.url}/#/stream`);
    await phone.page.locator('.events .ev').first().waitFor();
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow} px too wide)`);
    await screenshot(phone.page, 'stream-phone');
    await phone.context.close();

    const background = (p) => p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const dark = await openPage(browser, { colorScheme: 'dark' });
    await dark.page.goto(`${bus.url}/#/stream`);
    await dark.page.locator('.events .ev').first().waitFor();
    assert.notEqual(await background(dark.page), await background(page), 'dark when the system is dark');
    await screenshot(dark.page, 'stream-dark');
    await dark.context.close();
  });
});

describe('dashboard on a bus with tokens', () => {
  let bus;
  let tokens;
  let receiver;
  const received = [];
  const arrivals = [];
  /** Resolves once the receiver has had `count` requests with this webhook-id. */
  const receivedTimes = (id, count) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the receiver did not get ${id} ${count} times within ${2 * TIMEOUT_MS} ms`)), 2 * TIMEOUT_MS);
    const check = () => {
      if (received.filter((r) => r.id === id).length < count) return false;
      clearTimeout(timer);
      resolve();
      return true;
    };
    if (!check()) arrivals.push(check);
  });

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ id: req.headers['webhook-id'], body });
        res.writeHead(200).end('ok');
        arrivals.splice(0).filter((check) => !check()).forEach((check) => arrivals.push(check));
      });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    bus = await startBus({ env: { EventBus__Webhooks__AllowPrivateNetworks: 'true' } });
    tokens = {
      read: await createToken(bus.db, 'watcher', 'read'),
      admin: await createToken(bus.db, 'ops', 'admin'),
    };
  });

  after(async () => {
    await bus?.dispose();
    receiver?.close();
  });

  async function signIn(secret) {
    const view = await openPage(browser);
    await view.page.goto(`${bus.url}/`);
    await view.page.getByLabel('Token').fill(secret);
    await view.page.getByRole('button', { name: 'Sign in' }).click();
    await view.page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    return view;
  }

  test('without a token: the login prompt and no data', async () => {
    await publishRest(bus.url, { event_type: 'note', payload: 'nobody may see this', channel: 'all' }, tokens.admin);
    const view = await openPage(browser);
    await view.page.goto(`${bus.url}/#/sessions`);
    await view.page.getByLabel('Token').waitFor();
    await screenshot(view.page, 'login');
    assert.equal(await view.page.getByRole('navigation').isVisible(), false, 'no views');
    assert.equal(await view.page.getByText('nobody may see this').count(), 0);
    const answered = view.responses.filter((r) => r.url.includes('/api/v1/'));
    assert.ok(answered.length > 0 && answered.every((r) => r.status === 401), JSON.stringify(answered));
    await view.context.close();
  });

  test('a read token watches: no Send button, no webhooks, and no DM it may not read', async () => {
    const ops = await mcpClient(bus.url, 'dash-ops', tokens.admin);
    const s = await ops.call('register_session', { name: 'ops-agent', machine: uniqueTag('dash') });
    await ops.call('publish_event', { event_type: 'note', payload: 'private-dm-for-ops', channel: `session:${s.session_id}` });
    await ops.close();

    const view = await signIn(tokens.read);
    const { page } = view;
    const marker = uniqueTag('broadcast');
    await publishRest(bus.url, { event_type: 'note', payload: marker, channel: 'all' }, tokens.admin);
    await rows(page, marker).waitFor();
    assert.equal(await page.getByText('private-dm-for-ops').count(), 0, 'the DM never reaches the page');
    assert.equal(await page.getByRole('link', { name: 'Compose' }).isVisible(), false);
    assert.equal(await page.getByRole('link', { name: 'Webhooks' }).isVisible(), false);
    await page.goto(`${bus.url}/#/compose`);
    await page.getByRole('heading', { name: 'Live stream' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Send' }).count(), 0, 'no Send button');
    await rows(page, marker).click();
    await page.getByRole('dialog').waitFor();
    assert.equal(await page.getByRole('button', { name: /Send/ }).count(), 0, 'no reply either');
    await view.context.close();
  });

  test('an admin token sees webhooks and their delivery log, and Redeliver sends a delivery again', async () => {
    const ops = await mcpClient(bus.url, 'dash-ops-admin', tokens.admin);
    const { port } = receiver.address();
    const hook = await ops.call('register_webhook', { url: `http://127.0.0.1:${port}/hook`, channel: 'alerts:' });
    await ops.close();
    await publishRest(bus.url, { event_type: 'disk_full', payload: 'sda at 99%', channel: 'alerts:disk' }, tokens.admin);

    const view = await signIn(tokens.admin);
    const { page } = view;
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('cell', { name: `http://127.0.0.1:${port}/hook` }).waitFor();
    assert.equal(await page.getByText(hook.secret).count(), 0, 'the secret is never shown');
    const delivery = page.locator('.delivery', { hasText: 'delivered' }).first();
    await delivery.waitFor();
    const deliveryId = await delivery.getAttribute('data-delivery-id');
    assert.equal(received.filter((r) => r.id === deliveryId).length, 1, 'delivered once before Redeliver');
    await delivery.locator('summary').click({ position: { x: 4, y: 4 } });
    await screenshot(page, 'webhooks');

    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByRole('status').filter({ hasText: `Queued ${deliveryId} again` }).waitFor();
    await receivedTimes(deliveryId, 2);
    assert.equal(received.filter((r) => r.id === deliveryId).length, 2, 'the receiver got it again, with the same webhook-id');

    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('cell', { name: 'watcher' }).waitFor();
    await screenshot(page, 'tokens');
    await view.context.close();
  });
});
