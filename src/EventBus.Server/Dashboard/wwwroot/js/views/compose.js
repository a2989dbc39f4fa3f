// Compose: a person speaks on the bus. Messages go out as a session the token owns ("dashboard:<token name>",
// registered on first use and resumed after), so agents see who spoke and can answer on its direct channel.
import { h } from '../dom.js';

const SESSION_KEY = 'eventbus.dashboard-session';

async function dashboardSession(app, fresh = false) {
  const name = `dashboard:${app.me.token?.name ?? 'local'}`;
  const cached = sessionStorage.getItem(SESSION_KEY);
  if (cached && !fresh) {
    const { forName, sessionId } = JSON.parse(cached);
    if (forName === name) return sessionId;
  }
  const reply = await app.api('/sessions', { method: 'POST', body: { name, machine: 'dashboard', client_id: name } });
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ forName: name, sessionId: reply.session_id }));
  return reply.session_id;
}

/** Publishes as the dashboard's session; re-registers once if that session ended meanwhile. */
export async function publish(app, fields) {
  const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== '' && v !== undefined && v !== null));
  let reply = await app.api('/events', { method: 'POST', body: { ...body, session_id: await dashboardSession(app) } });
  if (reply.session_deleted) {
    await dashboardSession(app, true);
  }
  return reply;
}

export async function composeView(app, channel = '') {
  const sessions = await app.api('/sessions?ended_within_minutes=0').catch(() => ({ sessions: [] }));
  const options = h('datalist', { id: 'channel-options' },
    h('option', { value: 'all' }),
    sessions.sessions.map((s) => h('option', { value: `session:${s.session_id}` }, `${s.name} (${s.display_id})`)));
  const field = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id }, label), control);
  const channelInput = h('input', { id: 'channel', list: 'channel-options', value: channel || 'all', required: true, spellcheck: 'false' });
  const message = h('textarea', { id: 'message', rows: 4, required: true });
  const type = h('input', { id: 'event-type', value: 'message', required: true, spellcheck: 'false' });
  const level = h('select', { id: 'level' },
    h('option', { value: '' }, 'automatic'), h('option', { value: 'info' }, 'info'),
    h('option', { value: 'actionable' }, 'actionable'), h('option', { value: 'lifecycle' }, 'lifecycle'));
  const title = h('input', { id: 'title' });
  const status = h('p', { role: 'status', class: 'muted' });
  const send = h('button', { type: 'submit' }, 'Send');

  const form = h('form', { class: 'form panel', onsubmit: async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    try {
      const reply = await publish(app, {
        channel: channelInput.value.trim(), payload: message.value, event_type: type.value.trim(),
        signal_level: level.value, title: title.value.trim(),
      });
      status.className = 'ok';
      status.textContent = `Sent as event #${reply.event_id} on ${reply.channel} (${reply.signal_level}).`;
      message.value = '';
    } catch (err) {
      status.className = 'error';
      status.textContent = err.message;
    } finally {
      send.disabled = false;
    }
  } },
  field('channel', 'Channel', channelInput), options,
  h('p', { class: 'muted' }, 'A session\'s direct channel is session:<session id>; anything else is a broadcast channel (all, repo:…, alerts:…).'),
  field('message', 'Message', message),
  h('div', { class: 'row' }, field('event-type', 'Event type', type), field('level', 'Level', level)),
  field('title', 'Title (optional)', title),
  h('div', {}, send), status);
  return { element: h('section', {}, h('h1', {}, 'Compose'), form) };
}
