// The dashboard's shell: who is watching (token and scope), the one live stream every view shares, and the views.
import { api, ApiError, followStream, token } from './api.js';
import { h } from './dom.js';
import { EventStore } from './events.js';
import { streamView } from './views/stream.js';
import { sessionsView, sessionView } from './views/sessions.js';
import { composeView } from './views/compose.js';
import { channelsView } from './views/channels.js';
import { webhooksView, tokensView } from './views/admin.js';
import { healthView } from './views/health.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const conn = document.getElementById('conn');
const who = document.getElementById('who');

/** What every view is given: the caller, the events seen, and the bus API. */
const app = { me: null, events: new EventStore(5000), api, stream: null, cleanup: null };

const routes = {
  stream: () => streamView(app),
  sessions: () => sessionsView(app),
  session: (id) => sessionView(app, id),
  compose: (id) => composeView(app, id),
  channels: () => channelsView(app),
  webhooks: () => webhooksView(app),
  tokens: () => tokensView(app),
  health: () => healthView(app),
};

function allowed(needs) {
  if (needs === 'publish') return app.me.may_publish;
  if (needs === 'admin') return app.me.may_admin;
  return true;
}

async function render() {
  if (!app.me) return;
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const view = routes[name] ? name : 'stream';
  const link = nav.querySelector(`[data-view="${view}"]`);
  if (link && !allowed(link.dataset.needs)) {
    location.hash = '#/stream';
    return;
  }
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === view);
  app.cleanup?.();
  app.cleanup = null;
  main.replaceChildren();
  try {
    const result = await routes[view](rest.map(decodeURIComponent).join('/'));
    main.replaceChildren(result.element);
    app.cleanup = result.cleanup ?? null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut(e.message);
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
  }
}

function showLogin(message) {
  nav.hidden = true;
  who.textContent = '';
  conn.textContent = '';
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'form panel login', onsubmit: (e) => {
    e.preventDefault();
    token.set(input.value.trim());
    start();
  } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'This bus needs an access token. Create one on the bus host: ',
    h('code', {}, 'eventbus token create --name <name> --scope read|publish|admin')),
  h('label', { for: 'token' }, 'Token'), input,
  message ? h('p', { class: 'error', role: 'alert' }, message) : null,
  h('button', { type: 'submit' }, 'Sign in'));
  main.replaceChildren(form);
  input.focus();
}

function signOut(message) {
  app.stream?.stop();
  app.stream = null;
  app.me = null;
  app.cleanup?.();
  token.clear();
  showLogin(message);
}

async function start() {
  try {
    app.me = await api('/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      const had = token.get();
      token.clear();
      return showLogin(had ? e.message : null);
    }
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Cannot reach the bus: ${e.message}`));
    return;
  }
  for (const a of nav.querySelectorAll('a')) a.hidden = !allowed(a.dataset.needs);
  nav.hidden = false;
  who.replaceChildren(app.me.token ? `${app.me.token.name} (${app.me.scope}) ` : 'open bus (no tokens) ');
  if (app.me.token) who.append(h('button', { class: 'secondary', type: 'button', onclick: () => signOut(null) }, 'Sign out'));

  // The newest page first (one indexed read, however long the log), then the stream from its end.
  const page = await api('/events?limit=200');
  app.events.add(page.events.slice().reverse());
  app.stream = followStream({
    after: Number(page.next_cursor),
    onEvents: (events) => app.events.add(events),
    onState: (state) => {
      conn.textContent = state === 'live' ? 'live' : 'reconnecting…';
      conn.className = `conn ${state === 'live' ? 'live' : 'down'}`;
    },
    onAuth: () => signOut('The token is no longer accepted.'),
  });
  await render();
}

window.addEventListener('hashchange', render);
start();
