// The console's only way to the server: the public HTTP API (docs/reference.md §2-§4), at the
// directory above /console/ (so a server behind a path prefix works too). Credentials are a
// service token or an admin user's session, kept in sessionStorage (gone when the tab closes).

const KEY = 'taskwheel.console.auth';
const FLASH = 'taskwheel.console.flash';

export const apiBase = new URL('../', document.baseURI);

// An error answer of the API, with the envelope's name, description and field (reference §3).
export class ApiError extends Error {
  constructor(status, name, description, field) {
    super(description || name || `HTTP ${status}`);
    this.status = status;
    this.name = name || `http_${status}`;
    this.description = description || `the server answered ${status}`;
    this.field = field || null;
  }
}

export function getAuth() {
  try {
    const a = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return a && (a.kind === 'token' || a.kind === 'session') ? a : null;
  } catch {
    return null;
  }
}

export function setAuth(a) {
  if (a) sessionStorage.setItem(KEY, JSON.stringify(a));
  else sessionStorage.removeItem(KEY);
}

export function setChain(chain) {
  const a = getAuth();
  if (a) setAuth({ ...a, chain });
}

// A message for the sign-in page (why the user was signed out); read once.
export function setFlash(msg) {
  if (msg) sessionStorage.setItem(FLASH, msg);
  else sessionStorage.removeItem(FLASH);
}

export function takeFlash() {
  const m = sessionStorage.getItem(FLASH);
  sessionStorage.removeItem(FLASH);
  return m;
}

function authHeaders(a) {
  if (!a) return {};
  if (a.kind === 'token') return { Authorization: `Bearer ${a.token}` };
  return {
    'X-Spaaza-Session-User-Id': String(a.user_id),
    'X-Spaaza-Session-Key': a.session_key,
    'X-Spaaza-Session-Chain-Id': String(a.chain),
  };
}

// Called with the ApiError when the credentials stop working (401): main.js signs out.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function parse(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// One request. opts: {body (sent as JSON), headers, auth (explicit credentials), quiet401}.
// Resolves to {status, body, headers}; rejects with ApiError for 4xx/5xx or a network failure.
export async function request(method, path, opts = {}) {
  const auth = opts.auth !== undefined ? opts.auth : getAuth();
  const headers = { Accept: 'application/json', ...authHeaders(auth), ...(opts.headers || {}) };
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(new URL(path.replace(/^\//, ''), apiBase), { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network_error', `the server at ${apiBase.origin} cannot be reached (${e.message})`);
  }
  const data = await parse(res);
  if (!res.ok) {
    const e = data && typeof data === 'object' && data.error ? data.error : {};
    const err = new ApiError(res.status, e.name, e.description, e.field);
    if (res.status === 401 && !opts.quiet401) onUnauthorized(err);
    throw err;
  }
  return { status: res.status, body: data, headers: res.headers };
}

export const api = {
  get: (p, o) => request('GET', p, o),
  post: (p, body, o) => request('POST', p, { ...o, body }),
  put: (p, body, o) => request('PUT', p, { ...o, body }),
  del: (p, o) => request('DELETE', p, o),
};

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
