// Admin only: webhooks (never a secret) with their delivery log, and the bus's tokens.
import { h, clock } from '../dom.js';

export async function webhooksView(app) {
  const hooks = h('tbody');
  const log = h('div', { class: 'deliveries' });
  const status = h('p', { role: 'status', class: 'muted' });

  async function act(label, call) {
    try {
      await call();
      status.className = 'ok';
      status.textContent = label;
    } catch (err) {
      status.className = 'error';
      status.textContent = err.message;
    }
    await refresh();
  }

  function webhookRow(w) {
    const state = w.active ? (w.failing_since ? h('span', { class: 'bad' }, `failing since ${clock(w.failing_since)}`) : h('span', { class: 'ok' }, 'active'))
      : h('span', { class: 'muted' }, `disabled${w.disabled_reason ? `: ${w.disabled_reason}` : ''}`);
    const toggle = h('button', { class: 'secondary', type: 'button', onclick: () => act(`${w.active ? 'Disabled' : 'Enabled'} ${w.url}.`,
      () => app.api(`/webhooks/${encodeURIComponent(w.webhook_id)}/active`, { method: 'POST', body: { active: !w.active } })) },
    w.active ? 'Disable' : 'Enable');
    return h('tr', { dataset: { webhookId: w.webhook_id } },
      h('td', { class: 'mono', 'data-label': 'url' }, w.url),
      h('td', { class: 'mono', 'data-label': 'channel' }, w.channel || '(all)'),
      h('td', { 'data-label': 'types' }, (w.event_types ?? []).join(', ') || '(all)'),
      h('td', { 'data-label': 'status' }, state),
      h('td', { 'data-label': 'signed' }, w.has_secret ? 'yes' : 'no'),
      h('td', {}, toggle));
  }

  function deliveryCard(d) {
    return h('details', { class: 'card delivery', dataset: { deliveryId: d.delivery_id } },
      h('summary', {},
        h('span', { class: 'mono' }, d.delivery_id), ' ',
        h('span', { class: d.status === 'delivered' ? 'ok' : d.status === 'pending' ? 'muted' : 'bad' }, d.status), ' · ',
        `event #${d.event_id} ${d.event_type} on ${d.channel} · ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
        d.last_status_code ? ` · last ${d.last_status_code}` : '', ' ',
        h('button', { type: 'button', onclick: (ev) => { ev.preventDefault(); act(`Queued ${d.delivery_id} again.`,
          () => app.api(`/deliveries/${encodeURIComponent(d.delivery_id)}/redeliver`, { method: 'POST' })); } }, 'Redeliver')),
      h('table', {}, h('thead', {}, h('tr', {}, ['Attempt', 'At', 'Status', 'Error', 'ms'].map((t) => h('th', {}, t)))),
        h('tbody', {}, d.attempt_log.map((a) => h('tr', {},
          h('td', {}, String(a.attempt)), h('td', {}, a.at), h('td', {}, a.status_code ?? '—'),
          h('td', { class: 'mono' }, a.error ?? ''), h('td', {}, String(Math.round(a.duration_ms))))))));
  }

  async function refresh() {
    const [w, d] = await Promise.all([app.api('/webhooks'), app.api('/deliveries?limit=50')]);
    hooks.replaceChildren(...w.webhooks.map(webhookRow));
    if (!w.webhooks.length) hooks.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No webhooks. Register one with the register_webhook tool or eventbus webhook add.')));
    log.replaceChildren(...(d.deliveries.length ? d.deliveries.map(deliveryCard) : [h('p', { class: 'muted' }, 'No deliveries yet.')]));
  }

  await refresh();
  const poll = setInterval(() => refresh().catch(() => {}), 5000);
  return {
    element: h('section', {}, h('h1', {}, 'Webhooks'), status,
      h('table', {}, h('thead', {}, h('tr', {}, ['URL', 'Channel', 'Types', 'Status', 'Signed', ''].map((t) => h('th', {}, t)))), hooks),
      h('h2', {}, 'Delivery log'), log),
    cleanup: () => clearInterval(poll),
  };
}

export async function tokensView(app) {
  const data = await app.api('/tokens');
  return {
    element: h('section', {}, h('h1', {}, 'Tokens'),
      h('p', { class: 'muted' }, 'Create and revoke on the bus host: eventbus token create | revoke. Secrets are never shown.'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Scope', 'Sessions', 'Created', 'Expires', 'Revoked'].map((t) => h('th', {}, t)))),
        h('tbody', {}, data.tokens.map((t) => h('tr', { class: t.revoked_at ? 'muted' : '' },
          h('td', { 'data-label': 'name' }, t.name), h('td', { 'data-label': 'scope' }, t.scope),
          h('td', { class: 'mono', 'data-label': 'sessions' }, t.session_pattern ?? '*'),
          h('td', { 'data-label': 'created' }, t.created_at), h('td', { 'data-label': 'expires' }, t.expires_at ?? 'never'),
          h('td', { 'data-label': 'revoked' }, t.revoked_at ?? '—')))))),
  };
}
