// Health: version, store, size, uptime, open streams, and each MQTT bridge (and the MQTT endpoint) when configured.
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
    for (const b of x.mqtt?.bridges ?? []) {
      panel.append(h('h2', {}, `MQTT bridge ${b.name}`), kv([
        ['broker', h('span', { class: 'mono' }, b.broker)],
        ['state', h('span', { class: b.connected ? 'ok' : 'bad' }, b.connected ? `connected since ${b.connected_since}` : 'disconnected')],
        ['messages in / out / refused', `${b.messages_in} / ${b.messages_out} / ${b.messages_refused}`],
        ['last error', b.last_error ? `${b.last_error} (${b.last_error_at})` : 'none'],
      ]));
    }
    const ep = x.mqtt_endpoint;
    if (ep) {
      panel.append(h('h2', {}, 'MQTT endpoint'), kv([
        ['state', h('span', { class: ep.running ? 'ok' : 'bad' }, ep.running ? 'running' : 'stopped')],
        ['listening', [ep.tcp_port ? `tcp ${ep.tcp_port}` : null, ep.web_socket_path].filter(Boolean).join(', ') || 'nowhere'],
        ['clients', String(ep.clients)],
        ['messages in / out / refused', `${ep.messages_in} / ${ep.messages_out} / ${ep.messages_refused}`],
      ]));
    }
  }
  await refresh();
  const poll = setInterval(() => refresh().catch(() => {}), 5000);
  return { element: h('section', {}, h('h1', {}, 'Health'), panel), cleanup: () => clearInterval(poll) };
}
