// Sessions over real HTTP on the real Postgres and Redis: the refresh token
// from sign-in, rotation, reuse detection and its grace window, absolute and
// idle expiry on an injected clock, and /me refusing ended sessions.
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { startRoost } from '../helpers/roost.js';
import { SESSION_CHECK_CACHE_MS } from '../../src/sessions/session-check.js';

let clock = Date.now();
const roost = await startRoost(t, {
  now: () => clock,
  env: { SESSION_TTL: '86400', SESSION_IDLE_TTL: '3600', REFRESH_REUSE_GRACE: '10' },
});
const jwks = createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`));

interface Tokens {
  access_token: string;
  refresh_token: string;
}

async function signedIn(user = 0): Promise<Tokens> {
  const answer = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  return { access_token: answer.get('access_token') as string, refresh_token: answer.get('refresh_token') as string };
}

async function refresh(refreshToken: string, as: 'form' | 'json' = 'form') {
  const body = { grant_type: 'refresh_token', refresh_token: refreshToken };
  const response = await fetch(`${roost.url}/token`, {
    method: 'POST',
    headers: { 'content-type': as === 'form' ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: as === 'form' ? new URLSearchParams(body).toString() : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

async function me(accessToken: string) {
  const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const sessionRow = (id: string) => roost.deps.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

t.beforeEach(() => {
  clock = Date.now();
});

t.test('sign-in opens a session: a refresh token beside a JWT that names it', async (t) => {
  const browser = new Browser();
  const callback = await signIn(browser, roost, {});
  const answer = fragmentOf(callback.location);
  t.match(answer.get('refresh_token'), /^[A-Za-z0-9_-]{43}$/);
  const { payload } = await jwtVerify(answer.get('access_token') as string, jwks, { issuer: roost.url, algorithms: ['ES256'] });
  t.match(payload.sid, /^[0-9a-f-]{36}$/);
  const row = await sessionRow(payload.sid as string);
  t.equal(row.user_id, payload.sub);
  t.equal(row.revoked_at, null);
  t.equal(row.expires_at.getTime() - row.created_at.getTime(), 86400 * 1000, 'absolute lifetime is SESSION_TTL');
  t.equal(row.user_agent, 'node', 'the user agent is recorded');
  t.equal(row.ip, '127.0.0.1');
  t.not(row.refresh_hash, answer.get('refresh_token'), 'only a hash is stored');
  t.equal((await me(answer.get('access_token') as string)).status, 200);
});

t.test('rotation: each refresh returns new tokens and the old refresh token is spent', async (t) => {
  const first = await signedIn();
  const sid = decodeJwt(first.access_token).sid;
  let current = first.refresh_token;
  const seen = new Set([current]);
  for (let i = 0; i < 3; i += 1) {
    clock += 60_000;
    const answer = await refresh(current, i % 2 === 0 ? 'form' : 'json');
    t.equal(answer.status, 200);
    t.equal(answer.headers.get('cache-control'), 'no-store');
    t.equal(answer.headers.get('pragma'), 'no-cache');
    t.same(Object.keys(answer.json).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    t.match(answer.json, { token_type: 'Bearer', expires_in: 900 });
    const next = answer.json.refresh_token as string;
    t.notOk(seen.has(next), 'a new refresh token every time');
    seen.add(next);
    const claims = decodeJwt(answer.json.access_token as string);
    t.equal(claims.sid, sid, 'same session');
    t.equal(claims.iat, Math.floor(clock / 1000), 'issued now');
    t.equal((await me(answer.json.access_token as string)).status, 200);
    current = next;
  }
  const row = await sessionRow(sid as string);
  t.equal(row.last_used_at.getTime(), clock, 'last use recorded');
  const spent = await roost.deps.db.selectFrom('spent_refresh_tokens').select('hash').where('session_id', '=', sid as string).execute();
  t.equal(spent.length, 3);
});

t.test('reuse of a spent token after the grace window ends the whole session', async (t) => {
  const first = await signedIn();
  const second = (await refresh(first.refresh_token)).json as unknown as Tokens;
  const third = (await refresh(second.refresh_token)).json as unknown as Tokens;
  clock += 11_000;
  const reused = await refresh(first.refresh_token);
  t.equal(reused.status, 400);
  t.match(reused.json, { code: 'invalid_grant', error: 'invalid_grant', status: 400 });
  t.equal(reused.headers.get('content-type'), 'application/json; charset=utf-8', 'an OAuth error is application/json (RFC 6749 §5.2)');
  t.equal(reused.json.error_description, reused.json.detail);
  t.equal(reused.headers.get('pragma'), 'no-cache');
  const live = await refresh(third.refresh_token);
  t.equal(live.status, 400, 'the live token of the family is refused too');
  t.match(live.json, { error: 'invalid_grant' });
  t.equal((await me(third.access_token)).status, 401, 'its access tokens are refused at /me');
  const row = await sessionRow(decodeJwt(first.access_token).sid as string);
  t.equal(row.revoked_reason, 'refresh_token_reuse');
  t.ok(roost.logs.some((line) => line.msg === 'refresh token or code reuse: session ended' && line.sessionId === row.id));
});

t.test('grace window: two tabs refreshing the same token at once both get the same new token', async (t) => {
  const first = await signedIn();
  const sid = decodeJwt(first.access_token).sid as string;
  const repeats = () => roost.logs.filter((line) => line.msg === 'refresh repeated within the grace window: the same new token again' && line.sessionId === sid);
  let token = first.refresh_token;
  const rounds = 8;
  for (let round = 0; round < rounds; round++) {
    // Both requests wait on one gate and leave together when it opens.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const both = Promise.all([gate.then(() => refresh(token)), gate.then(() => refresh(token, 'json'))]);
    open();
    const [a, b] = await both;
    t.equal(a.status, 200, `round ${round}`);
    t.equal(b.status, 200, `round ${round}`);
    t.equal(a.json.refresh_token, b.json.refresh_token, `round ${round}: one live token for the session, not two`);
    t.equal(repeats().length, round + 1, `round ${round}: one of them was answered by the grace window`);
    t.equal((await sessionRow(sid)).revoked_at, null, `round ${round}: the session is alive`);
    token = a.json.refresh_token as string;
    clock += 60_000;
  }
  const parent = token;
  const child = (await refresh(parent)).json.refresh_token as string;
  clock += 9_000;
  const late = await refresh(parent);
  t.equal(late.status, 200, 'within REFRESH_REUSE_GRACE');
  t.equal(late.json.refresh_token, child);
  t.equal(repeats().length, rounds + 1, 'a late repeat takes the same branch');
  // The requests overlapped: in some rounds both found the token live and one lost the rotation to the other.
  const overlapped = repeats().filter((line) => line.concurrent === true).length;
  t.ok(overlapped > 0, `in ${overlapped} of ${rounds} rounds one refresh lost the rotation to the other and was answered by the grace window`);
  const next = await refresh(child);
  t.equal(next.status, 200, 'the shared new token rotates normally');
});

t.test('grace window: only the immediate parent, and only within the window', async (t) => {
  const first = await signedIn();
  const second = (await refresh(first.refresh_token)).json as unknown as Tokens;
  t.equal((await refresh(second.refresh_token)).status, 200);
  const grandparent = await refresh(first.refresh_token);
  t.equal(grandparent.status, 400, 'a token two rotations old is reuse even at once');
  t.equal((await sessionRow(decodeJwt(first.access_token).sid as string)).revoked_reason, 'refresh_token_reuse');
});

t.test('with REFRESH_REUSE_GRACE past, the parent is reuse', async (t) => {
  const first = await signedIn();
  t.equal((await refresh(first.refresh_token)).status, 200);
  clock += 10_001;
  t.equal((await refresh(first.refresh_token)).status, 400);
});

t.test('idle timeout: a session unused for SESSION_IDLE_TTL ends', async (t) => {
  const first = await signedIn();
  clock += 3599_000;
  const kept = await refresh(first.refresh_token);
  t.equal(kept.status, 200, 'just inside the idle window');
  clock += 3600_000;
  const idle = await refresh(kept.json.refresh_token as string);
  t.equal(idle.status, 400);
  t.match(idle.json, { error: 'invalid_grant', detail: /idle/ });
});

t.test('absolute lifetime: SESSION_TTL ends a session however often it is refreshed', async (t) => {
  let tokens = await signedIn();
  for (let i = 0; i < 24; i += 1) {
    clock += 3500_000;
    const answer = await refresh(tokens.refresh_token);
    if (answer.status !== 200) {
      t.equal(i, 24, `refused at step ${i}: ${JSON.stringify(answer.json)}`);
      return;
    }
    tokens = answer.json as unknown as Tokens;
  }
  // 24 × 3500 s = 84000 s < 86400 s; the next step crosses SESSION_TTL.
  clock += 3500_000;
  const expired = await refresh(tokens.refresh_token);
  t.equal(expired.status, 400);
  t.match(expired.json, { error: 'invalid_grant', detail: /maximum lifetime/ });
});

t.test('/me refuses an access token whose session ended elsewhere, within the cache bound', async (t) => {
  const tokens = await signedIn();
  const sid = decodeJwt(tokens.access_token).sid as string;
  t.equal((await me(tokens.access_token)).status, 200, 'cached as active');
  // Another replica ends the session: this one's cache does not know yet.
  await roost.deps.db.updateTable('sessions').set({ revoked_at: new Date(clock), revoked_reason: 'test' }).where('id', '=', sid).execute();
  t.equal((await me(tokens.access_token)).status, 200, 'still cached');
  clock += SESSION_CHECK_CACHE_MS + 1;
  const refused = await me(tokens.access_token);
  t.equal(refused.status, 401);
  t.match(refused.json, { code: 'invalid_token', detail: /session/ });
});

t.test('/me and POST /token agree: a session idle past SESSION_IDLE_TTL is ended for both', async (t) => {
  const tokens = await signedIn();
  const { SignJWT } = await import('jose');
  const key = roost.deps.signingKey();
  // A token that outlives the idle window, as one would with ACCESS_TOKEN_TTL above SESSION_IDLE_TTL.
  const claims = { ...decodeJwt(tokens.access_token), exp: Math.floor(clock / 1000) + 3 * 3600 };
  const longLived = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
  clock += 3599_000;
  t.equal((await me(longLived)).status, 200, 'just inside the idle window');
  clock += 2000;
  const refused = await me(longLived);
  t.equal(refused.status, 401, 'the cached answer does not outlive the idle end');
  t.match(refused.json, { code: 'invalid_token', detail: /session/ });
  t.match((await refresh(tokens.refresh_token)).json, { error: 'invalid_grant', detail: /idle/ });
});

t.test('/me refuses a validly signed token without a session id', async (t) => {
  const tokens = await signedIn();
  const claims = decodeJwt(tokens.access_token);
  const { SignJWT } = await import('jose');
  const { sid: _sid, ...withoutSid } = claims;
  const key = roost.deps.signingKey();
  const token = await new SignJWT(withoutSid).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
  t.equal((await me(token)).status, 401);
});

t.test('POST /token refuses bad requests with RFC 6749 error codes', async (t) => {
  const post = async (body: string, contentType: string | undefined) => {
    const response = await fetch(`${roost.url}/token`, { method: 'POST', ...(contentType ? { headers: { 'content-type': contentType } } : {}), body });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
  };
  const form = 'application/x-www-form-urlencoded';
  const cases: Array<[string, string, string | undefined, number, string, string | undefined]> = [
    ['no body', '', undefined, 400, 'invalid_request', 'invalid_request'],
    ['no grant_type', 'refresh_token=abc', form, 400, 'invalid_request', 'invalid_request'],
    ['an unknown grant', 'grant_type=password&username=a&password=b', form, 400, 'unsupported_grant_type', 'unsupported_grant_type'],
    ['no refresh_token', 'grant_type=refresh_token', form, 400, 'invalid_request', 'invalid_request'],
    ['a repeated parameter', 'grant_type=refresh_token&refresh_token=a&refresh_token=b', form, 400, 'invalid_request', 'invalid_request'],
    ['a non-string JSON value', '{"grant_type":"refresh_token","refresh_token":42}', 'application/json', 400, 'invalid_request', 'invalid_request'],
    ['a JSON array', '[]', 'application/json', 400, 'invalid_request', 'invalid_request'],
    ['a malformed token', 'grant_type=refresh_token&refresh_token=short', form, 400, 'invalid_grant', 'invalid_grant'],
    ['an unknown token', `grant_type=refresh_token&refresh_token=${'A'.repeat(43)}`, form, 400, 'invalid_grant', 'invalid_grant'],
    ['a text body', 'grant_type=refresh_token', 'text/plain', 400, 'invalid_request', 'invalid_request'],
    ['another content type', '<grant_type/>', 'application/xml', 415, 'unsupported_media_type', undefined],
    ['an oversized body', `grant_type=refresh_token&refresh_token=${'a'.repeat(5000)}`, form, 413, 'payload_too_large', undefined],
  ];
  for (const [name, body, contentType, status, code, error] of cases) {
    const answer = await post(body, contentType);
    t.equal(answer.status, status, name);
    // An error with an OAuth code is application/json (RFC 6749 §5.2); the others stay problems.
    t.equal(answer.headers.get('content-type'), error === undefined ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8', name);
    t.equal(answer.headers.get('cache-control'), 'no-store', name);
    t.equal(answer.headers.get('pragma'), 'no-cache', name);
    t.match(answer.json, { code, status }, name);
    t.equal(answer.json.error, error, `${name}: error member`);
  }
});
