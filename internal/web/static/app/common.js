// What every page of the app shares: calling the API, turning its problem
// documents into plain words, formatting, and the sign-out button.

/** An API error, with a message fit to show a person. */
export class ApiError extends Error {
  constructor(message, { status = 0, type = '', problem = null, retryAfterMs = 0 } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.problem = problem;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Plain words for a problem document (RFC 9457) of the API. */
export function describeProblem(status, problem) {
  const slug = (problem?.type || '').split(':').pop();
  const detail = problem?.detail ? capitalize(problem.detail) : '';
  switch (slug) {
    case 'too-large':
      return 'This file is larger than the server accepts.';
    case 'quota-exceeded':
      return 'There is not enough room left in your storage for this.';
    case 'storage-full':
      return 'The server has run out of disk space.';
    case 'unauthenticated':
      return detail || 'Your session has ended. Sign in again.';
    case 'rate-limited':
      return 'Too many tries. Wait a little and try again.';
    case 'unavailable':
      return 'The server is not answering right now.';
    case 'checksum-mismatch':
      return 'The file changed or was damaged on the way. Try again.';
    case 'not-found':
      return detail || 'It is not there any more.';
    case 'internal':
      return 'Something went wrong on the server.';
  }
  if (problem?.errors?.length) {
    return problem.errors.map((e) => `${capitalize(e.field.replace(/_/g, ' '))} ${e.message}.`).join(' ');
  }
  if (detail) return detail.endsWith('.') ? detail : detail + '.';
  return status >= 500 ? 'Something went wrong on the server.' : 'That did not work.';
}

function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

export function retryAfterMs(header) {
  const secs = Number(header);
  return Number.isFinite(secs) && secs > 0 ? secs * 1000 : 0;
}

/** Calls the API with the session cookie and returns the JSON answer. */
export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(navigator.onLine ? 'The connection to the server failed.' : 'You are offline.', { status: 0 });
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && !path.startsWith('/api/v1/sessions') && !path.startsWith('/api/v1/me')) {
      location.assign('/login?next=' + encodeURIComponent(location.pathname));
    }
    throw new ApiError(describeProblem(resp.status, data), {
      status: resp.status, type: data?.type || '', problem: data, retryAfterMs: retryAfterMs(resp.headers.get('Retry-After')),
    });
  }
  return data;
}

/** Sizes for people: 1.5 MB, 340 KB, 12 bytes (decimal units, as the server's pages). */
export function formatBytes(n) {
  if (n < 1000) return n === 1 ? '1 byte' : `${n} bytes`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} KB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min left`;
  return `${(seconds / 3600).toFixed(1)} h left`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDate(iso) {
  return iso ? dateFormat.format(new Date(iso)) : '';
}

/** Builds an element: el('a', {href: x, className: 'y'}, 'text', child). Text is always text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Shows or hides a form's error line. */
export function showError(node, message) {
  if (!node) return;
  node.textContent = message || '';
  node.hidden = !message;
}

/** Copies text; falls back to selecting it where the clipboard API is missing. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      return document.execCommand?.('copy') ?? false;
    }
    return false;
  }
}

/** Briefly says "Copied" on a button. */
export function flash(button, text = 'Copied') {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => { button.textContent = before; }, 1500);
}

// The sign-out button of the navigation.
document.getElementById('sign-out')?.addEventListener('click', async () => {
  try {
    await api('DELETE', '/api/v1/sessions/current');
  } finally {
    location.assign('/login');
  }
});
