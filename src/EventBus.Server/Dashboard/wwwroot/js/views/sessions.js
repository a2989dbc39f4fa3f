// Sessions: who is on the bus now (heartbeat ticking, unread, subscriptions) and who left lately (greyed).
import { h, kv, ago, clock } from '../dom.js';

const LIFECYCLE = new Set(['session_registered', 'session_unregistered']);

function card(s, fetchedAt) {
  const heartbeat = h('span', { class: 'heartbeat' });
  const tick = () => { heartbeat.textContent = ago(s.silent_seconds + (performance.now() - fetchedAt) / 1000); };
  tick();
  const el = h('article', { class: `card session ${s.live ? 'live' : 'ended'}`, dataset: { sessionId: s.session_id }, 'aria-label': `Session ${s.name}` },
    h('h3', {}, h('a', { href: `#/session/${encodeURIComponent(s.session_id)}` }, s.name), ' ',
      h('span', { class: 'muted' }, s.display_id), s.live ? null : h('span', { class: 'muted' }, ` · ended ${clock(s.ended_at)}`)),
    kv([
      ['machine', s.machine], ['repo', s.repo],
      ['heartbeat', s.live ? heartbeat : clock(s.last_heartbeat)],
      ['unread', s.live ? `${s.unread}${s.unread_capped ? '+' : ''}` : '—'],
      ['subscribed', h('span', {}, s.subscriptions.map((x) => h('span', { class: 'chip', title: `min level ${x.min_level}` }, x.channel)))],
    ]));
  return { el, tick: s.live ? tick : null };
}

export async function sessionsView(app) {
  const cards = h('div', { class: 'cards' });
  const summary = h('p', { class: 'muted' });
  let ticks = [];
  let timer = 0;

  async function refresh() {
    const data = await app.api('/sessions');
    const fetchedAt = performance.now();
    const made = data.sessions.map((s) => card(s, fetchedAt));
    ticks = made.map((m) => m.tick).filter(Boolean);
    cards.replaceChildren(...made.map((m) => m.el));
    summary.textContent = `${data.live} live · ${data.ended} ended in the last hour`;
  }

  const schedule = () => { clearTimeout(timer); timer = setTimeout(() => refresh().catch(() => {}), 150); };
  const unsubscribe = app.events.subscribe((events) => { if (events.some((e) => LIFECYCLE.has(e.event_type))) schedule(); });
  const poll = setInterval(() => refresh().catch(() => {}), 5000);
  const clockTimer = setInterval(() => ticks.forEach((t) => t()), 1000);
  await refresh();
  return {
    element: h('section', {}, h('h1', {}, 'Sessions'), summary, cards),
    cleanup: () => { unsubscribe(); clearInterval(poll); clearInterval(clockTimer); clearTimeout(timer); },
  };
}

function eventList(events) {
  if (!events.length) return h('p', { class: 'muted' }, 'None.');
  return h('div', { class: 'events thread' }, events.map((e) => h('div', { class: 'ev' },
    h('span', { class: 'id' }, `#${e.id}`), h('span', { class: 'chan' }, `${e.channel} · ${e.event_type}`),
    h('span', {}, e.title ? `${e.title} — ${e.payload}` : e.payload))));
}

export async function sessionView(app, id) {
  const [s, sent, direct] = await Promise.all([
    app.api(`/sessions/${encodeURIComponent(id)}`),
    app.api(`/events?from=${encodeURIComponent(id)}&limit=50`),
    app.api(`/events?channel=${encodeURIComponent(`session:${id}`)}&limit=50`),
  ]);
  return {
    element: h('section', { class: s.live ? '' : 'ended' },
      h('h1', {}, `${s.name} `, h('span', { class: 'muted' }, s.display_id), s.live ? '' : h('span', { class: 'muted' }, ' (ended)')),
      h('div', { class: 'panel' }, kv([
        ['session id', h('span', { class: 'mono' }, s.session_id)], ['machine', s.machine], ['repo', s.repo], ['cwd', s.cwd],
        ['client id', s.client_id], ['registered', s.registered_at], ['last heartbeat', s.last_heartbeat],
        ['ended', s.ended_at], ['cursor', s.cursor], ['unread', String(s.unread)],
        ['subscribed', h('span', {}, s.subscriptions.map((x) => h('span', { class: 'chip' }, `${x.channel} ≥ ${x.min_level}`)))],
      ])),
      app.me.may_publish && s.live
        ? h('p', {}, h('a', { href: `#/compose/${encodeURIComponent(`session:${s.session_id}`)}` }, 'Send a direct message'))
        : null,
      h('h2', {}, 'Direct messages to it'), eventList(direct.events),
      h('h2', {}, 'Events it published'), eventList(sent.events)),
  };
}
