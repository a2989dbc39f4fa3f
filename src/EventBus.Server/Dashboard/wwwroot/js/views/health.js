// Health: version, store, size, uptime, open streams.
import { h, kv, bytes } from '../dom.js';

function duration(seconds) {
  const d = Math.floor(seconds / 86400), hrs = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  return d ? `${d} d ${hrs} h` : hrs ? `${hrs} h ${m} min` : `${m} min ${Math.floor(seconds % 60)} s`;
}

export async function healthView(app) {
  const panel = h('div', { class: 'panel' });
  async function refresh() {
    const x = await app.api('/health');
    panel.replaceChildren(kv([
      ['status', h('span', { class: x.status === 'ok' ? 'ok' : 'bad' }, x.status)], ['version', x.version],
      ['store', `${x.store.kind}${x.store.writable ? '' : ' (read-only)'}`], ['database', h('span', { class: 'mono' }, x.store.path)],
      ['schema', `v${x.store.schema_version}`], ['database size', bytes(x.store.size_bytes)],
      ['last event id', String(x.store.last_event_id)], ['live sessions', String(x.store.live_sessions)],
      ['uptime', duration(x.uptime_seconds)], ['started', x.started_at],
      ['open streams', String(x.open_streams)], ['MCP sessions', String(x.mcp_sessions)],
      ['this tab', `${app.events.received} events received`],
    ]));
  }
  await refresh();
  const poll = setInterval(() => refresh().catch(() => {}), 5000);
  return { element: h('section', {}, h('h1', {}, 'Health'), panel), cleanup: () => clearInterval(poll) };
}
