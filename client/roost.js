// roost.js: sign in with roost from a browser app. Plain ES module, no
// dependencies. The access token lives in memory; the refresh token in
// localStorage, shared by the app's tabs (see README.md for why). Tabs take
// turns refreshing under a Web Lock and hand each other new tokens over a
// BroadcastChannel.

const ANSWER_KEYS = ['code', 'state', 'error', 'error_description', 'error_uri', 'access_token', 'token_type', 'expires_in', 'refresh_token'];
const MAX_BACKOFF = 60;

/** @param {import('./roost').RoostClientOptions} options */
export function createRoostClient(options) {
  const url = String(options?.url ?? '').replace(/\/+$/, '');
  const returnTo = options?.returnTo;
  const mode = options?.mode ?? 'code';
  if (!/^https?:\/\//.test(url)) throw new TypeError('createRoostClient: url must be roost’s absolute URL');
  if (typeof returnTo !== 'string' || returnTo === '') throw new TypeError('createRoostClient: returnTo must be the app’s registered page');
  if (mode !== 'code' && mode !== 'fragment') throw new TypeError("createRoostClient: mode is 'code' or 'fragment'");

  const refreshKey = `roost:${url}:refresh_token`;
  const signInKey = `roost:${url}:sign_in`;
  const lockName = `roost:${url}:refresh`;
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`roost:${url}`) : null;
  const listeners = new Set();

  let access = null; // { token, expiresAt, lifetime, claims }
  let user = null;
  let timer = null;
  let inFlight = null; // this tab's refresh, shared by every caller
  let failure = null; // { error, notBefore, backoff } after a refresh that did not get an answer
  let redirectHandled = null;
  let adopted = null; // resolves a wait for another tab's tokens

  // --- storage -------------------------------------------------------------
  let memoryRefresh = null; // where the refresh token goes if localStorage is unavailable
  const readRefresh = () => {
    try { return localStorage.getItem(refreshKey); } catch { return memoryRefresh; }
  };
  const writeRefresh = (value) => {
    memoryRefresh = value;
    try {
      if (value === null) localStorage.removeItem(refreshKey);
      else localStorage.setItem(refreshKey, value);
    } catch { /* memory only */ }
  };

  // --- state changes ---------------------------------------------------------
  const sameUser = (a, b) => (a === null || b === null ? a === b : a.sub === b.sub && a.sid === b.sid);
  function setUser(next) {
    if (sameUser(user, next)) { user = next; return; }
    user = next;
    for (const listener of [...listeners]) {
      try { listener(next); } catch (error) { setTimeout(() => { throw error; }); }
    }
  }

  function adopt(token, expiresIn, at = Date.now()) {
    const lifetime = Math.max(1, Number(expiresIn) || 0) * 1000;
    access = { token, expiresAt: at + lifetime, lifetime, claims: decodeClaims(token) };
    failure = null;
    schedule(access.expiresAt - refreshAhead(access) - Date.now());
    adopted?.();
    setUser(access.claims);
  }

  function store(tokens) {
    writeRefresh(tokens.refresh_token);
    const at = Date.now();
    adopt(tokens.access_token, tokens.expires_in, at);
    channel?.postMessage({ type: 'tokens', access_token: tokens.access_token, expires_in: tokens.expires_in, at });
  }

  // The session is over (signed out, or roost said invalid_grant): forget it
  // here, and in every tab.
  function end({ tell = true } = {}) {
    clearTimeout(timer);
    timer = null;
    access = null;
    failure = null;
    writeRefresh(null);
    if (tell) channel?.postMessage({ type: 'ended' });
    setUser(null);
  }

  // Another tab's news.
  if (channel) {
    channel.onmessage = ({ data }) => {
      if (data?.type === 'tokens' && typeof data.access_token === 'string') adopt(data.access_token, data.expires_in, data.at);
      else if (data?.type === 'ended') end({ tell: false });
    };
  }
  // The same through localStorage, for a tab that missed the message.
  addEventListener('storage', (event) => {
    if (event.key === refreshKey && event.newValue === null && (access !== null || user !== null)) end({ tell: false });
  });

  // --- refreshing ------------------------------------------------------------
  // A minute ahead, or a third of the lifetime of a short-lived token.
  const refreshAhead = (a) => Math.min(60_000, a.lifetime / 3);
  const isFresh = (a) => a !== null && a.expiresAt - refreshAhead(a) > Date.now();
  const isValid = (a) => a !== null && a.expiresAt - 5_000 > Date.now();

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      refresh().catch(() => { /* retried on the schedule refresh() set */ });
    }, Math.max(0, delay));
  }

  function refresh() {
    const seen = readRefresh();
    inFlight ??= withLock(() => refreshOnce(seen)).finally(() => { inFlight = null; });
    return inFlight;
  }

  async function withLock(task) {
    // One refresh at a time across the app's tabs. Without Web Locks (an
    // insecure context) tabs may refresh at once: roost's REFRESH_REUSE_GRACE
    // gives both the same new pair.
    if (typeof navigator !== 'undefined' && navigator.locks?.request) return navigator.locks.request(lockName, task);
    return task();
  }

  async function refreshOnce(seen) {
    // Another tab may have refreshed while this one waited for the lock: its
    // tokens arrive over the channel, maybe a moment after the lock.
    if (isFresh(access)) return access.token;
    if (channel !== null && readRefresh() !== seen) {
      await new Promise((resolve) => {
        adopted = resolve;
        setTimeout(resolve, 1_000);
      });
      adopted = null;
      if (isFresh(access)) return access.token;
    }
    const refreshToken = readRefresh();
    if (refreshToken === null) {
      if (access !== null || user !== null) end({ tell: false });
      return null;
    }
    try {
      store(await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }));
      return access.token;
    } catch (error) {
      if (error.error === 'invalid_grant') {
        // Ended, unless another tab has signed in again meanwhile.
        if (readRefresh() === refreshToken) end();
        return null;
      }
      // No answer, a 5xx or a 429: try again later, then less often.
      const backoff = Math.min((failure?.backoff ?? 0.5) * 2, MAX_BACKOFF);
      const wait = Math.max(backoff, error.retryAfter ?? 0);
      failure = { error, notBefore: Date.now() + wait * 1000, backoff };
      schedule(wait * 1000);
      throw error;
    }
  }

  async function tokenRequest(params) {
    let response;
    try {
      // A form body keeps this a "simple" cross-origin request: no preflight.
      response = await fetch(`${url}/token`, { method: 'POST', body: new URLSearchParams(params), cache: 'no-store' });
    } catch (cause) {
      throw roostError('roost could not be reached', 'network_error', { cause });
    }
    const body = await response.json().catch(() => ({})); // a proxy's error page is not JSON
    if (response.ok && typeof body.access_token === 'string' && typeof body.refresh_token === 'string') return body;
    const retryAfter = Number(response.headers.get('retry-after')) || undefined;
    const code = body.error ?? (response.status >= 500 || response.status === 429 ? 'temporarily_unavailable' : 'invalid_response');
    throw roostError(body.error_description ?? body.detail ?? `roost answered ${response.status}`, code, { status: response.status, retryAfter });
  }

  // --- the API -----------------------------------------------------------------
  async function signIn({ state } = {}) {
    const sent = { state: state ?? randomString(16), returnTo };
    const query = { return_to: returnTo, state: sent.state };
    if (mode === 'code') {
      sent.verifier = randomString(32);
      const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sent.verifier)));
      Object.assign(query, { code_challenge: challenge, code_challenge_method: 'S256' });
    }
    // Per tab: the answer must come back to the tab that asked (RFC 6749 §10.12).
    sessionStorage.setItem(signInKey, JSON.stringify(sent));
    location.assign(`${url}/login?${new URLSearchParams(query)}`);
  }

  function handleRedirect() {
    redirectHandled ??= finishSignIn();
    return redirectHandled;
  }

  async function finishSignIn() {
    const query = new URLSearchParams(location.search);
    const fragment = new URLSearchParams(location.hash.slice(1));
    const answer = [fragment, query].find((p) => p.has('state') || p.has('code') || p.has('error') || p.has('access_token'));
    if (answer === undefined) {
      // A plain load: the stored session, if any, after one refresh.
      if (readRefresh() === null) return null;
      try { return (await getAccessToken()) === null ? null : user; } catch { return null; }
    }
    // The sent sign-in is read once: a second answer finds nothing.
    let sent = {};
    try { sent = JSON.parse(sessionStorage.getItem(signInKey) ?? '{}') ?? {}; } catch { /* none */ }
    sessionStorage.removeItem(signInKey);
    // The answer leaves the address bar and the history.
    const kept = new URLSearchParams(query);
    for (const key of ANSWER_KEYS) kept.delete(key);
    const search = kept.toString();
    history.replaceState(history.state, '', location.pathname + (search ? `?${search}` : ''));

    if (typeof sent.state !== 'string' || answer.get('state') !== sent.state) {
      throw roostError('This answer is not for a sign-in this tab started', 'state_mismatch');
    }
    if (answer.has('error')) throw roostError(answer.get('error_description') ?? answer.get('error'), answer.get('error'));
    if (answer.has('code') && typeof sent.verifier === 'string') {
      store(await tokenRequest({ grant_type: 'authorization_code', code: answer.get('code'), code_verifier: sent.verifier, redirect_uri: sent.returnTo }));
    } else if (answer.has('access_token') && answer.has('refresh_token') && sent.verifier === undefined) {
      store({ access_token: answer.get('access_token'), refresh_token: answer.get('refresh_token'), expires_in: answer.get('expires_in') });
    } else {
      throw roostError('The answer does not match the sign-in this tab started', 'invalid_response');
    }
    return user;
  }

  async function getAccessToken() {
    if (isFresh(access)) return access.token;
    if (readRefresh() === null) {
      if (access !== null || user !== null) end({ tell: false });
      return null;
    }
    // Backing off: the token still in hand, or the last failure again, without asking roost.
    if (failure !== null && failure.notBefore > Date.now()) {
      if (isValid(access)) return access.token;
      throw failure.error;
    }
    try {
      return await refresh();
    } catch (error) {
      if (isValid(access)) return access.token;
      throw error;
    }
  }

  async function signOut() {
    const refreshToken = readRefresh();
    end();
    if (refreshToken === null) return;
    try {
      await fetch(`${url}/logout`, { method: 'POST', body: new URLSearchParams({ refresh_token: refreshToken }), keepalive: true });
    } catch { /* the tokens are forgotten here either way */ }
  }

  function onChange(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  return { signIn, handleRedirect, getAccessToken, signOut, onChange };
}

function roostError(message, error, extra = {}) {
  const { cause, ...rest } = extra;
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { error }, rest);
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

// The claims as roost wrote them. Not a verification: the token came from
// roost over HTTPS; services that accept it verify it with the JWKS.
function decodeClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}
