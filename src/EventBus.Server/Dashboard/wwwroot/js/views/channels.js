// Channels: subscribers and how busy each channel was in the last minutes.
import { h, clock } from '../dom.js';

export async function channelsView(app) {
  const body = h('tbody');
  const note = h('p', { class: 'muted' });
  async function refresh() {
    const data = await app.api('/channels');
    note.textContent = `Recent: the last ${data.window_seconds / 60} minutes.`;
    body.replaceChildren(...data.channels.map((c) => h('tr', {},
      h('td', { class: 'mono', 'data-label': 'channel' }, c.channel),
      h('td', { 'data-label': 'subscribers' }, String(c.subscribers)),
      h('td', { 'data-label': 'recent events' }, String(c.recent_events)),
      h('td', { 'data-label': 'per minute' }, String(c.per_minute)),
      h('td', { 'data-label': 'last event' }, c.last_event_at ? clock(c.last_event_at) : '—'))));
  }
  await refresh();
  const poll = setInterval(() => refresh().catch(() => {}), 5000);
  return {
    element: h('section', {}, h('h1', {}, 'Channels'), note,
      h('table', {}, h('thead', {}, h('tr', {}, ['Channel', 'Subscribers', 'Recent events', 'Per minute', 'Last event'].map((t) => h('th', {}, t)))), body)),
    cleanup: () => clearInterval(poll),
  };
}
