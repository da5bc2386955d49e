// A backend for frontend: the app's own server signs its users in with roost's
// code flow (PKCE) and keeps the tokens; the browser only ever holds an
// HttpOnly session cookie. node:http, fetch and node:crypto only.
// What each step does, and why, is in docs/backend-for-frontend.md.
//
//   RETURN_TO_URLS=http://127.0.0.1:4000/callback npm start                            # roost
//   ROOST_URL=http://localhost:3000 APP_URL=http://127.0.0.1:4000 node examples/bff/server.js
//   open http://127.0.0.1:4000/
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

// roost's PUBLIC_URL: where browsers are sent to sign in, and where this server redeems and refreshes.
const roostUrl = (process.env.ROOST_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const port = Number(process.env.PORT ?? 4000);
// This app's public URL. APP_URL/callback must be listed in roost's RETURN_TO_URLS, exactly.
const appUrl = new URL(process.env.APP_URL ?? `http://127.0.0.1:${port}`);
const returnTo = new URL('/callback', appUrl).href; // the same string at /login and at POST /token
const secure = appUrl.protocol === 'https:';
// __Host- cookies are https-only, Path=/ and bound to this exact host (no Domain).
const cookieName = (name) => (secure ? `__Host-${name}` : name);
const SESSION = cookieName('bff_session');
const LOGIN = cookieName('bff_login');
const LOGIN_TTL = 10 * 60_000; // a sign-in must finish within roost's LOGIN_FLOW_TTL anyway
const cookieSecret = randomBytes(32); // signs the pre-session cookie; a restart forgets sign-ins in progress

// In memory for the example: a restart signs everyone out, and replicas would
// not share it. In production keep both maps in Redis or a database, with an
// expiry. Sessions are keyed by a hash of their cookie, so a dump of the store
// holds no cookie that works.
const logins = new Map(); // pre-session id → { verifier, state, expiresAt }
const sessions = new Map(); // sha256(cookie) → { accessToken, refreshToken, expiresAt, refreshing }

const random = (bytes = 32) => randomBytes(bytes).toString('base64url');
const sha256 = (text) => createHash('sha256').update(text).digest('base64url');
const sign = (value) => `${value}.${createHmac('sha256', cookieSecret).update(value).digest('base64url')}`;
const sameText = (a, b) => typeof a === 'string' && typeof b === 'string' && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
function unsign(signed) {
  const value = signed?.slice(0, signed.lastIndexOf('.'));
  return value && sameText(sign(value), signed) ? value : undefined;
}
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function cookiesOf(request) {
  const cookies = new Map();
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const index = pair.indexOf('=');
    if (index > 0) cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
  }
  return cookies;
}
// HttpOnly: no script reads it. SameSite=Lax: sent on the top-level navigation back from roost, not on cross-site POSTs.
function cookie(name, value, maxAgeSeconds) {
  const age = maxAgeSeconds === undefined ? '' : `; Max-Age=${maxAgeSeconds}`;
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}${age}`;
}

function send(response, status, body, headers = {}) {
  const type = typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json';
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}
const page = (title, html) => `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1>${html}`;
const redirect = (response, location, cookies = []) => send(response, 303, '', { location, 'set-cookie': cookies });

/** A form POST to roost (POST /token, POST /logout); resolves with the status and the JSON body, if any. */
async function postToRoost(path, form) {
  const response = await fetch(`${roostUrl}${path}`, { method: 'POST', body: new URLSearchParams(form), signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}
function keep(session, tokens) {
  session.accessToken = tokens.access_token;
  session.refreshToken = tokens.refresh_token; // rotation: the previous one is spent now
  session.issuedAt = Date.now();
  session.expiresAt = session.issuedAt + tokens.expires_in * 1000;
}

// GET /login: a fresh PKCE verifier (RFC 7636) and state, kept here, never in the browser.
function login(response) {
  for (const [id, pending] of logins) if (pending.expiresAt < Date.now()) logins.delete(id);
  const id = random();
  const verifier = random();
  const state = random(16);
  logins.set(id, { verifier, state, expiresAt: Date.now() + LOGIN_TTL });
  const query = new URLSearchParams({ return_to: returnTo, code_challenge: sha256(verifier), code_challenge_method: 'S256', state });
  redirect(response, `${roostUrl}/login?${query}`, [cookie(LOGIN, sign(id), LOGIN_TTL / 1000)]);
}

// GET /callback: only the answer to the sign-in this browser started, once (login CSRF, RFC 6749 §10.12).
async function callback(request, response, query) {
  const id = unsign(cookiesOf(request).get(LOGIN));
  const pending = id && logins.get(id);
  if (id) logins.delete(id);
  const clearLogin = cookie(LOGIN, '', 0);
  const again = '<p><a href="/login">Sign in again</a></p>';
  if (!pending || pending.expiresAt < Date.now() || !sameText(query.get('state'), pending.state)) {
    return send(response, 400, page('This sign-in was not started here', `<p>It expired, or it began in another browser or tab.</p>${again}`), { 'set-cookie': clearLogin });
  }
  if (query.has('error')) {
    // access_denied: the user cancelled; temporarily_unavailable: try again shortly; server_error: roost's operator has to look.
    const text = `${query.get('error')}: ${query.get('error_description') ?? ''}`;
    return send(response, 400, page('You are not signed in', `<p>${escapeHtml(text)}</p>${again}`), { 'set-cookie': clearLogin });
  }
  const answer = await postToRoost('/token', { grant_type: 'authorization_code', code: query.get('code') ?? '', code_verifier: pending.verifier, redirect_uri: returnTo });
  if (answer.status !== 200) {
    return send(response, 502, page('The sign-in could not be finished', `<p>${escapeHtml(answer.body.error ?? `roost answered ${answer.status}`)}</p>${again}`), { 'set-cookie': clearLogin });
  }
  const sessionId = random(); // 256 random bits: the only thing the browser holds
  const session = {};
  keep(session, answer.body);
  sessions.set(sha256(sessionId), session);
  redirect(response, '/', [clearLogin, cookie(SESSION, sessionId)]);
}

function sessionOf(request) {
  const id = cookiesOf(request).get(SESSION);
  return id ? { key: sha256(id), session: sessions.get(sha256(id)) } : {};
}

/** A live access token for the session, refreshed first when little of its lifetime is left; undefined once roost ended the session. */
async function accessTokenFor(session) {
  // Refresh in the token's last minute, or its last third when it lives less than three minutes.
  const margin = Math.min(60_000, (session.expiresAt - session.issuedAt) / 3);
  if (session.expiresAt - Date.now() > margin) return session.accessToken;
  // One refresh at a time per session: requests that arrive meanwhile wait for it, rather
  // than present the same refresh token again.
  session.refreshing ??= postToRoost('/token', { grant_type: 'refresh_token', refresh_token: session.refreshToken })
    .then((answer) => {
      if (answer.status === 200) keep(session, answer.body);
      return answer;
    })
    .finally(() => (session.refreshing = undefined));
  const answer = await session.refreshing;
  if (answer.status === 200) return session.accessToken;
  if (answer.body.error === 'invalid_grant') return undefined; // ended, expired or revoked at roost: sign in again
  throw new Error(`roost answered ${answer.status} to a refresh`);
}

/** The signed-in user from roost's GET /me: { user }; {} without a cookie; { ended } once the session is over; { unavailable }. */
async function currentUser(request) {
  const { key, session } = sessionOf(request);
  if (!session) return { ended: key !== undefined }; // a cookie this server does not know (say, after a restart)
  try {
    const token = await accessTokenFor(session);
    const me = token && (await fetch(`${roostUrl}/me`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) }));
    if (me?.status === 200) return { user: await me.json() };
    if (me && me.status !== 401) throw new Error(`roost answered ${me.status} at /me`);
  } catch (error) {
    console.error(`bff: roost is unavailable: ${error.message}`); // the reason, never a token
    return { unavailable: true };
  }
  sessions.delete(key); // roost ended the session (signed out elsewhere, expired, reuse): so does the app
  return { ended: true };
}

async function home(request, response, asJson) {
  const { user, unavailable, ended } = await currentUser(request);
  const headers = ended ? { 'set-cookie': cookie(SESSION, '', 0) } : {};
  if (unavailable) return send(response, 502, asJson ? { error: 'roost_unavailable' } : page('Try again shortly', ''));
  if (asJson) return send(response, user ? 200 : 401, user ?? { error: 'not_signed_in' }, headers);
  const body = user
    ? `<p>Signed in as @${escapeHtml(user.screen_name)} (${escapeHtml(user.name)}).</p><form method="post" action="/logout"><button>Sign out</button></form>`
    : '<p><a href="/login">Sign in with Twitter</a></p>';
  send(response, 200, page('roost backend-for-frontend example', body), headers);
}

// POST /logout: only from this app's own pages. Browsers send Origin with every POST; a
// form on another site (or a request without Origin) is refused (CSRF).
async function logout(request, response) {
  if (request.headers.origin !== appUrl.origin) return send(response, 403, { error: 'cross_origin_request' });
  const { key, session } = sessionOf(request);
  if (session) {
    sessions.delete(key);
    // Ends the session at roost: its refresh token is refused from now on. Best effort: the cookie goes either way.
    await postToRoost('/logout', { refresh_token: session.refreshToken }).catch((error) => console.error(`bff: roost logout failed: ${error.message}`));
  }
  redirect(response, '/', [cookie(SESSION, '', 0)]);
}

const server = createServer(async (request, response) => {
  const url = new URL(request.url ?? '/', appUrl);
  const route = `${request.method} ${url.pathname}`;
  try {
    if (route === 'GET /login') return login(response);
    if (route === 'GET /callback') return await callback(request, response, url.searchParams);
    if (route === 'GET /') return await home(request, response, false);
    if (route === 'GET /api/me') return await home(request, response, true);
    if (route === 'POST /logout') return await logout(request, response);
    send(response, 404, { error: 'not_found' });
  } catch (error) {
    // Only the route and the message: a query (/callback's code) or a header (the cookie) stays out of the log.
    console.error(`bff: ${route} failed: ${error.message}`);
    if (!response.headersSent) send(response, 502, { error: 'roost_unavailable' });
  }
});

server.listen(port, '127.0.0.1', () => console.log(`bff listening on http://127.0.0.1:${server.address().port}, signing in at ${roostUrl} for ${appUrl.origin}`));
process.on('SIGTERM', () => server.close());
