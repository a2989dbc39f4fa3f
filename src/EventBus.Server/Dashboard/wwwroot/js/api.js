// The only way the page talks to the bus: /api/v1 with the token (if any) as a bearer header. The token lives in
// sessionStorage (gone when the tab closes), never in a URL or a cookie.
const TOKEN_KEY = 'eventbus.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer other than 2xx: its status and the problem's detail. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  const t = token.get();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

/** GET (or another method with a JSON body) under /api/v1; resolves with the parsed JSON or throws ApiError. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }), signal, cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`/api/v1${path}`, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
  if (!res.ok) throw new ApiError(res.status, json?.detail ?? json?.title ?? `${res.status} ${res.statusText}`);
  return json;
}

/**
 * Follows /api/v1/stream. EventSource cannot send an Authorization header, so this reads the SSE body with fetch.
 * After a drop (network, server restart) it reconnects with Last-Event-ID, so nothing is missed, and it drops any
 * id it has already passed on, so nothing is shown twice.
 * @param {{after: number, onEvents: (events: object[]) => void, onState: (state: string) => void, onAuth: () => void}} options
 */
export function followStream({ after, onEvents, onState, onAuth }) {
  let lastId = after;
  let stopped = false;
  let controller = null;
  let delay = 250;

  async function connectOnce() {
    controller = new AbortController();
    const res = await fetch('/api/v1/stream', {
      headers: headers({ Accept: 'text/event-stream', 'Last-Event-ID': String(lastId) }),
      signal: controller.signal,
      cache: 'no-store',
    });
    if (res.status === 401 || res.status === 403) {
      onAuth();
      stopped = true;
      return;
    }
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    onState('live');
    delay = 250;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // Frames end with a blank line; the text after the last one waits for the next chunk (sliced once per chunk).
      const batch = [];
      let start = 0;
      let end;
      while ((end = buffer.indexOf('\n\n', start)) >= 0) {
        let id = null;
        let data = '';
        for (const line of buffer.slice(start, end).split('\n')) {
          if (line.startsWith('id: ')) id = Number(line.slice(4));
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        start = end + 2;
        if (id === null || !data || id <= lastId) continue;
        lastId = id;
        batch.push(JSON.parse(data));
      }
      buffer = buffer.slice(start);
      if (batch.length) onEvents(batch);
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await connectOnce();
      } catch (e) {
        if (stopped) return;
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 4000);
    }
  })();

  return { stop: () => { stopped = true; controller?.abort(); }, lastId: () => lastId };
}
