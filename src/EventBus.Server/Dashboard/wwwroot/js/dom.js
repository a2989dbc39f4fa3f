// Building DOM without innerHTML: every text from the bus goes in as text, never as markup.

/** h('div', {class: 'x', onclick}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A definition list of [label, value] pairs. */
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** "12 s ago", "3 min ago", "2 h ago". */
export function ago(seconds) {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

const two = (n) => (n < 10 ? `0${n}` : String(n));

/** HH:MM:SS of an ISO timestamp, in local time (by hand: toLocaleTimeString cost ~1 ms a row under a firehose). */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Pretty JSON when the text is JSON, else the text as it is. */
export function pretty(text) {
  try {
    const value = JSON.parse(text);
    if (value !== null && typeof value === 'object') return JSON.stringify(value, null, 2);
  } catch { /* plain text */ }
  return text;
}

/** A channel pattern as the bus matches it: `*` one segment, a final `#` any depth (also none). */
export function channelMatcher(pattern) {
  const p = pattern.trim();
  if (!p) return () => true;
  const parts = p.split(':');
  return (channel) => {
    const c = channel.split(':');
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === '#' && i === parts.length - 1) return true;
      if (i >= c.length) return false;
      if (parts[i] !== '*' && parts[i] !== c[i]) return false;
    }
    return c.length === parts.length;
  };
}
