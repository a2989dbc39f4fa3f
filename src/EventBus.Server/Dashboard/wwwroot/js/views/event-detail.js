// One event: every field, the payload pretty-printed when it is JSON, its thread (correlation_id), and a reply.
import { h, kv, pretty } from '../dom.js';
import { publish } from './compose.js';

export async function showEvent(app, e) {
  const thread = e.correlation_id ?? String(e.id);
  const threadList = h('div', { class: 'events thread' }, h('p', { class: 'muted' }, 'Loading the thread…'));
  const dialog = h('dialog', { 'aria-label': `Event ${e.id}` },
    h('h1', {}, e.title ?? `${e.event_type} #${e.id}`),
    kv([
      ['id', String(e.id)], ['type', e.event_type], ['channel', e.channel], ['level', e.signal_level],
      ['from', h('a', { href: `#/session/${encodeURIComponent(e.session_id)}` }, e.session_id)],
      ['time', e.timestamp], ['correlation', e.correlation_id], ['tags', (e.tags ?? []).join(', ') || null],
    ]),
    h('h2', {}, 'Payload'),
    h('pre', { class: 'payload' }, pretty(e.payload)),
    h('h2', {}, `Thread ${thread}`),
    threadList,
    app.me.may_publish ? replyForm(app, e, thread, () => loadThread()) : null,
    h('p', {}, h('button', { class: 'secondary', type: 'button', onclick: () => dialog.close() }, 'Close')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();

  async function loadThread() {
    try {
      const page = await app.api(`/events?correlation_id=${encodeURIComponent(thread)}&cursor=0&order=asc&limit=200`);
      const events = page.events.some((x) => x.id === e.id) ? page.events : [e, ...page.events];
      threadList.replaceChildren(...events.map((x) => h('div', { class: 'ev' },
        h('span', { class: 'id' }, `#${x.id}`), h('span', { class: 'chan' }, x.session_id), h('span', {}, x.payload))));
    } catch (err) {
      threadList.replaceChildren(h('p', { class: 'error' }, err.message));
    }
  }
  loadThread();
}

function replyForm(app, e, thread, done) {
  const message = h('textarea', { id: 'reply-message', rows: 2, required: true });
  const status = h('p', { class: 'muted', role: 'status' });
  return h('form', { class: 'form', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const reply = await publish(app, { channel: e.channel, payload: message.value, event_type: 'reply', correlation_id: thread });
      status.textContent = `Replied as event #${reply.event_id}.`;
      message.value = '';
      done();
    } catch (err) {
      status.textContent = err.message;
      status.className = 'error';
    }
  } },
  h('label', { for: 'reply-message' }, 'Reply in thread'), message,
  h('button', { type: 'submit' }, 'Send reply'), status);
}
