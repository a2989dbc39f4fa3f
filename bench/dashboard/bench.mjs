// The dashboard's browser bench (scripts/dashboard-bench.sh runs it against a server on a seeded database):
//   first paint: a fresh tab opening / — first-contentful-paint and the first event rows in the DOM, median of N;
//   firehose: the live stream while REST publishes RATE events/s for SECONDS — frame gaps (requestAnimationFrame),
//   long tasks, how late a timer set every 100 ms fires (input responsiveness), chromium's CPU, rows kept in the DOM;
//   and the same at 20 events/s as a control (on a shared machine the wall-clock figures carry everyone's load).
// It measures and prints; it fails only when something does not work (no rows, a publish refused).
import { readdirSync, readFileSync } from 'node:fs';
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const url = args.url;
const runs = Number(args.runs ?? 7);
const rate = Number(args.rate ?? 1000);
const seconds = Number(args.seconds ?? 10);
const firehoseRuns = Number(args['firehose-runs'] ?? 3);
const chromiumPath = args.chromium ?? '/usr/bin/chromium';

/**
 * CPU seconds (user + system) used so far by chromium's processes (everything this script started: playwright-core
 * launches the browser as its child), and by its
 * renderers alone: what the page costs the machine, whatever else runs on it. Wall-clock figures (frame gaps, long
 * tasks) also count the time the OS gives to other processes.
 */
function chromiumCpu(rootPid) {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const renderer = readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('--type=renderer');
      procs.set(Number(name), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100, renderer });
    } catch { /* gone meanwhile */ }
  }
  const under = (pid) => { for (let p = pid; p > 1; p = procs.get(p)?.ppid ?? 0) if (p === rootPid) return true; return false; };
  let total = 0;
  let renderers = 0;
  for (const [pid, p] of procs) {
    if (pid === rootPid || !under(pid)) continue;
    total += p.cpu;
    if (p.renderer) renderers += p.cpu;
  }
  return { total, renderers };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; };
const r1 = (x) => Math.round(x * 10) / 10;

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
let health = await (await fetch(`${url}/api/v1/health`)).json();
if (health.store.last_event_id === 0) {
  // An empty bus draws no rows: give it one, so "first rows" means the same on every database.
  await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"event_type":"note","payload":"first"}' });
  health = await (await fetch(`${url}/api/v1/health`)).json();
}
const chromiumVersion = browser.version();

async function firstPaint() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.waitForFunction(() => performance.getEntriesByName('eventbus:first-rows').length > 0, null, { timeout: 30_000 });
  const t = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    rows: performance.getEntriesByName('eventbus:first-rows')[0].startTime,
    domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
  }));
  await context.close();
  return t;
}

async function publishFor(ms, rate) {
  // Batches of rate/20 every 50 ms, on the clock: a late batch goes out at once, so the average rate holds.
  const perBatch = Math.max(1, Math.round(rate / 20));
  const started = Date.now();
  let sent = 0;
  let n = 0;
  while (Date.now() - started < ms) {
    const due = started + n * 50;
    if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    n++;
    const body = Array.from({ length: perBatch }, (_, i) => ({
      event_type: i % 10 === 0 ? 'ci_failed' : 'note', channel: i % 3 === 0 ? 'repo:eventbus' : 'all',
      payload: JSON.stringify({ n: sent + i, text: 'firehose event with a payload of ordinary size for a chat message' }),
    }));
    const res = await fetch(`${url}/api/v1/events:batch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`batch publish answered ${res.status}: ${await res.text()}`);
    sent += perBatch;
  }
  return { sent, seconds: (Date.now() - started) / 1000 };
}

async function firehose(rate) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/#/stream`);
  await page.waitForFunction(() => performance.getEntriesByName('eventbus:first-rows').length > 0, null, { timeout: 30_000 });
  await page.evaluate(() => {
    window.__bench = { frames: [], timerLate: [], longTasks: [], stop: false };
    let last = performance.now();
    const frame = (t) => { window.__bench.frames.push(t - last); last = t; if (!window.__bench.stop) requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    const tick = () => {
      const due = performance.now() + 100;
      setTimeout(() => { window.__bench.timerLate.push(performance.now() - due); if (!window.__bench.stop) tick(); }, 100);
    };
    tick();
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__bench.longTasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: false });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
  const start = await metrics();
  const cpuStart = chromiumCpu(process.pid);
  const before = await page.evaluate(() => Number(document.querySelector('.events').closest('section').querySelector('span.muted').textContent.match(/(\d+) received/)[1]));
  const published = await publishFor(seconds * 1000, rate);
  // Wait for the tab to have received everything published (the thing itself, not a timer).
  await page.waitForFunction((n) => {
    const m = document.querySelector('.events')?.closest('section')?.querySelector('span.muted')?.textContent.match(/(\d+) received/);
    return m && Number(m[1]) >= n;
  }, before + published.sent, { timeout: 60_000 });
  const end = await metrics();
  const cpuEnd = chromiumCpu(process.pid);
  const wall = end.Timestamp - start.Timestamp;
  // Main-thread time of the renderer per second of wall time, by kind (CDP Performance metrics: CPU work, not waiting).
  const busy = (name) => r1(((end[name] - start[name]) / wall) * 1000);
  const m = await page.evaluate(() => {
    window.__bench.stop = true;
    return { ...window.__bench, rows: document.querySelectorAll('.events .ev').length, nodes: document.getElementsByTagName('*').length };
  });
  await context.close();
  return {
    published: published.sent, rate: r1(published.sent / published.seconds),
    frameP50: r1(median(m.frames)), frameP95: r1(pct(m.frames, 0.95)), frameMax: r1(Math.max(...m.frames)),
    timerLateP95: r1(pct(m.timerLate, 0.95)), timerLateMax: r1(Math.max(...m.timerLate)),
    longTasks: m.longTasks.length, longTaskMs: r1(m.longTasks.reduce((a, b) => a + b, 0)), rows: m.rows, nodes: m.nodes,
    chromiumCpuPct: r1(((cpuEnd.total - cpuStart.total) / wall) * 100),
    rendererCpuPct: r1(((cpuEnd.renderers - cpuStart.renderers) / wall) * 100),
    mainThreadMsPerS: busy('TaskDuration'), scriptMsPerS: busy('ScriptDuration'), layoutMsPerS: busy('LayoutDuration'),
    styleMsPerS: busy('RecalcStyleDuration'), heapMiB: r1(end.JSHeapUsedSize / 1048576),
  };
}

if ('firehose-only' in args) {
  const h = await firehose(rate);
  console.log(JSON.stringify(h));
  await browser.close();
  process.exit(0);
}
await firstPaint(); // warm-up: the server's first requests (JIT) are not what a person opening the page sees
const paints = [];
for (let i = 0; i < runs; i++) paints.push(await firstPaint());
const hoses = [];
// The control: the same page and probes at 20 events/s, for what the machine itself does to the wall-clock figures.
const control = await firehose(20);
for (let i = 0; i < firehoseRuns; i++) hoses.push(await firehose(rate));
await browser.close();

const result = {
  events_in_database: health.store.last_event_id, database_bytes: health.store.size_bytes, chromium: chromiumVersion,
  first_paint: {
    runs, fcp_ms_median: r1(median(paints.map((p) => p.fcp))), first_rows_ms_median: r1(median(paints.map((p) => p.rows))),
    first_rows_ms_max: r1(Math.max(...paints.map((p) => p.rows))), all: paints.map((p) => ({ fcp: r1(p.fcp), rows: r1(p.rows) })),
  },
  firehose: {
    runs: firehoseRuns, seconds, target_rate: rate,
    frame_p95_ms_median: median(hoses.map((h) => h.frameP95)), frame_max_ms_median: median(hoses.map((h) => h.frameMax)),
    timer_late_p95_ms_median: median(hoses.map((h) => h.timerLateP95)), long_task_ms_median: median(hoses.map((h) => h.longTaskMs)),
    main_thread_ms_per_s_median: median(hoses.map((h) => h.mainThreadMsPerS)),
    renderer_cpu_pct_median: median(hoses.map((h) => h.rendererCpuPct)),
    chromium_cpu_pct_median: median(hoses.map((h) => h.chromiumCpuPct)),
    rows_in_dom_max: Math.max(...hoses.map((h) => h.rows)), all: hoses,
  },
  control_20_per_s: control,
  load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
};
console.log(JSON.stringify(result, null, 2));
