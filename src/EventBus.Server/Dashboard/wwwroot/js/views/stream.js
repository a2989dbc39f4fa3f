// Live stream: every event as it is committed. Incoming events are queued and drawn in one go at most every DRAW_MS
// (on an animation frame), only the newest MAX_ROWS matching rows are in the DOM, and rows off screen are skipped by
// layout and paint (content-visibility), so a firehose of thousands a second keeps the tab responsive.
import { h, clock, channelMatcher } from '../dom.js';
import { showEvent } from './event-detail.js';

const MAX_ROWS = 300;
const DRAW_MS = 100;
const LEVELS = { lifecycle: 0, info: 1, actionable: 2 };

export function streamView(app) {
  const filters = { channel: '', type: '', level: '', text: '' };
  let matches = () => true;
  const list = h('div', { class: 'events', role: 'log', 'aria-label': 'Events', 'aria-live': 'off' });
  const counter = h('span', { class: 'muted' });
  let pending = [];
  let frame = 0;
  let timer = 0;
  let lastDraw = 0;

  function compile() {
    const channel = channelMatcher(filters.channel);
    const type = filters.type.trim().toLowerCase();
    const level = filters.level ? LEVELS[filters.level] : -1;
    const text = filters.text.trim().toLowerCase();
    matches = (e) => channel(e.channel) &&
      (!type || e.event_type.toLowerCase().includes(type)) &&
      (level < 0 || LEVELS[e.signal_level] >= level) &&
      (!text || e.payload.toLowerCase().includes(text) || (e.title ?? '').toLowerCase().includes(text));
  }

  function row(e) {
    const text = e.title ? `${e.title} — ${e.payload}` : e.payload;
    return h('div', { class: 'ev', tabindex: 0, dataset: { id: e.id }, role: 'button', 'aria-label': `Event ${e.id}` },
      h('span', { class: 'id' }, `#${e.id}`),
      h('span', { class: 'time' }, clock(e.timestamp)),
      h('span', { class: 'chan', title: e.channel }, e.channel),
      h('span', { class: `type level-${e.signal_level}`, title: `${e.event_type} (${e.signal_level})` }, e.event_type),
      h('span', { class: 'text' }, text.length > 300 ? `${text.slice(0, 300)}…` : text));
  }

  function count() {
    counter.textContent = `${list.childElementCount} shown · ${app.events.items.length} kept · ${app.events.received} received`;
  }

  function flush() {
    frame = 0;
    lastDraw = performance.now();
    const batch = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
    pending = [];
    const fragment = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) fragment.append(row(batch[i]));
    list.prepend(fragment);
    while (list.childElementCount > MAX_ROWS) list.lastElementChild.remove();
    count();
    // For the browser bench (scripts/dashboard-bench.sh): when the first rows reached the DOM.
    if (batch.length && !performance.getEntriesByName('eventbus:first-rows').length) performance.mark('eventbus:first-rows');
  }

  function redraw() {
    compile();
    pending = app.events.items.filter(matches).slice(-MAX_ROWS);
    list.replaceChildren();
    flush();
  }

  const unsubscribe = app.events.subscribe((events) => {
    for (const e of events) if (matches(e)) pending.push(e);
    if (pending.length > MAX_ROWS * 4) pending = pending.slice(-MAX_ROWS);
    schedule();
  });

  function schedule() {
    if (frame || timer) return;
    const wait = DRAW_MS - (performance.now() - lastDraw);
    if (wait <= 0) frame = requestAnimationFrame(flush);
    else timer = setTimeout(() => { timer = 0; frame = requestAnimationFrame(flush); }, wait);
  }

  list.addEventListener('click', (ev) => open(ev.target.closest('.ev')));
  list.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(ev.target.closest('.ev')); });
  function open(el) {
    if (!el) return;
    const id = Number(el.dataset.id);
    const e = app.events.items.find((x) => x.id === id);
    if (e) showEvent(app, e);
  }

  const input = (key, label, placeholder) => h('label', {}, label,
    h('input', { type: 'search', placeholder, oninput: (ev) => { filters[key] = ev.target.value; redraw(); } }));
  const element = h('section', {},
    h('h1', {}, 'Live stream'),
    h('div', { class: 'filters' },
      input('channel', 'Channel pattern', 'repo:* or alerts:#'),
      input('type', 'Type', 'ci_failed'),
      h('label', {}, 'Minimum level', h('select', { onchange: (ev) => { filters.level = ev.target.value; redraw(); } },
        h('option', { value: '' }, 'all'), h('option', { value: 'info' }, 'info'), h('option', { value: 'actionable' }, 'actionable'))),
      input('text', 'Search', 'text in payload or title'),
      counter),
    list);
  redraw();
  return { element, cleanup: () => { unsubscribe(); cancelAnimationFrame(frame); clearTimeout(timer); } };
}
