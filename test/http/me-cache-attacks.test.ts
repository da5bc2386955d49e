// GET /me's caches and the load shedding in front of it, attacked over real
// HTTP on the real Postgres: every way a session ends on this replica is
// seen at once whatever is cached, a revoked key's tokens fail as soon as
// the key ring has seen the revocation, a client's access token never passes
// for the user's, one session's profile never answers for another user, the
// caches stay bounded, and no kind of request (refused, unknown, HEAD,
// pipelined, abandoned) leaves a place in flight taken for good.
import { connect, type Socket } from 'node:net';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import t, { type Test } from 'tap';
import { RETRY_AFTER_SECONDS } from '../../src/http/overload.js';
import { runKeysCommand } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { issueAccessToken, issueClientAccessToken, type AccessClaims } from '../../src/keys/access-tokens.js';
import { revokeSession } from '../../src/sessions/queries.js';
import { SESSION_CHECK_CACHE_MS } from '../../src/sessions/session-check.js';
import { cacheVerifiedTokens } from '../../src/sessions/verified-tokens.js';
import { findUser } from '../../src/users/profiles.js';
import { ADMIN_KEYS, refresh } from '../helpers/admin-roost.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_URL, startRoost, type Roost } from '../helpers/roost.js';

let clock = Date.now();
const roost = await startRoost(t, { now: () => clock, env: { ACCESS_TOKEN_TTL: '900', ADMIN_API_KEYS: ADMIN_KEYS.join(','), ADMIN_RATE_LIMIT: '100000' } });

t.beforeEach(() => {
  clock = Date.now();
});

async function signedIn(user = 0): Promise<{ access: string; refresh: string; sub: string; sid: string }> {
  const answer = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  const access = answer.get('access_token') as string;
  const claims = decodeJwt(access);
  return { access, refresh: answer.get('refresh_token') as string, sub: claims.sub as string, sid: claims.sid as string };
}

async function me(token: string, on: Roost = roost) {
  const response = await fetch(`${on.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

async function call(method: string, path: string, options: { token?: string; form?: Record<string, string>; json?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${roost.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  await response.arrayBuffer();
  return response.status;
}

const tokenSettings = () => ({ issuer: roost.config.publicUrl, audience: roost.config.jwtAudience, ttlSeconds: roost.config.accessTokenTtl });

t.test('every way this replica ends a session is seen at once by a /me whose token, session and profile are cached', async (t) => {
  let last = '';
  const endings: [string, (session: Awaited<ReturnType<typeof signedIn>>) => Promise<number>, number][] = [
    ['POST /logout with the refresh token', (s) => call('POST', '/logout', { form: { refresh_token: s.refresh } }), 204],
    ['DELETE /sessions/:id from another of the user’s sessions', async (s) => call('DELETE', `/sessions/${s.sid}`, { token: (await signedIn(0)).access }), 204],
    [
      'a refresh token presented twice (the session is taken as stolen)',
      async (s) => {
        t.equal((await refresh(roost, s.refresh)).status, 200, 'the first refresh');
        // Past the grace window a repeat is a reuse; /me finds the session live again first.
        clock += (roost.config.refreshReuseGrace + 1) * 1000;
        t.equal((await me(s.access)).status, 200, 'the session is still live');
        return (await refresh(roost, s.refresh)).status;
      },
      400,
    ],
    ['an admin DELETE /admin/sessions/:id', (s) => call('DELETE', `/admin/sessions/${s.sid}`, { token: ADMIN_KEYS[0] }), 204],
    ['DELETE /me (the account)', (s) => call('DELETE', '/me', { token: s.access }), 204],
    ['an admin DELETE /admin/users/:id', (s) => call('DELETE', `/admin/users/${s.sub}`, { token: ADMIN_KEYS[0] }), 204],
    // Last: the user stays banned until the unban below.
    ['an admin ban', (s) => call('POST', `/admin/users/${s.sub}/ban`, { token: ADMIN_KEYS[0], json: { reason: 'abuse' } }), 200],
  ];
  for (const [what, end, status] of endings) {
    const session = await signedIn(0);
    last = session.sub;
    t.equal((await me(session.access)).status, 200, `${what}: cached first`);
    t.equal((await me(session.access)).status, 200, `${what}: and answered from the caches`);
    t.equal(await end(session), status, `${what}: done`);
    const refused = await me(session.access);
    t.equal(refused.status, 401, `${what}: the cached token is refused at once, the clock unmoved`);
    t.match(refused.json, { code: 'invalid_token' });
  }
  // Alice signs in again in the tests after this one.
  t.equal(await call('POST', `/admin/users/${last}/unban`, { token: ADMIN_KEYS[0] }), 200, 'unbanned');
});

t.test('a session ended by another replica while this clock went back is still refused within SESSION_CHECK_CACHE_MS', async (t) => {
  const { access, sid } = await signedIn(1);
  t.equal((await me(access)).status, 200, 'session found live and cached at T');
  // The clock steps back a minute (NTP correcting a fast clock), then another replica ends the session.
  clock -= 60_000;
  t.ok(await revokeSession(roost.deps.db, sid, 'logout', clock), 'ended elsewhere, this replica not told');
  clock += SESSION_CHECK_CACHE_MS + 1;
  const answer = await me(access);
  t.equal(answer.status, 401, 'more than SESSION_CHECK_CACHE_MS later, the end is seen');
});

t.test('a clock that went back never revives an expired token from the cache', async (t) => {
  const { access } = await signedIn(1);
  const { exp } = decodeJwt(access) as { exp: number };
  t.equal((await me(access)).status, 200);
  clock = exp * 1000;
  t.equal((await me(access)).status, 401, 'expired');
  clock = exp * 1000 - 1000;
  t.equal((await me(access)).status, 200, 'a second before its exp again: verified afresh, still good');
  clock = exp * 1000 + 3_600_000;
  t.equal((await me(access)).status, 401, 'and refused past it whatever the cache holds');
});

t.test('one session, two users: the profile cached for the session never answers for another sub', async (t) => {
  const alice = await signedIn(0);
  const bob = await signedIn(1);
  const aliceProfile = (await me(alice.access)).json;
  t.equal(aliceProfile.id, alice.sub);
  // A token of roost's own key naming bob in alice's session: the cache is per session, the answer per user.
  const user = await findUser(roost.deps.db, bob.sub);
  if (!user) throw new Error('bob is missing');
  const mixed = await issueAccessToken(user, tokenSettings(), roost.deps.keys.signingKey(), clock, alice.sid);
  const answer = await me(mixed);
  t.equal(answer.status, 200);
  t.equal(answer.json.id, bob.sub, "bob's profile, not alice's cached one");
  t.equal((await me(alice.access)).json.id, alice.sub, "and alice's again after it");
  // A forged sid (no such session), a sid that is no UUID, and none: refused, cached or not.
  for (const sid of ['6f1c1f5e-9a55-4a3e-9d5b-3b8f7c1a0e11', 'not-a-uuid', undefined]) {
    const token = await issueAccessToken(user, tokenSettings(), roost.deps.keys.signingKey(), clock, sid);
    for (const time of ['first', 'again']) t.equal((await me(token)).status, 401, `sid ${String(sid)}: refused (${time})`);
  }
});

t.test("an OpenID Connect client's access token is refused at /me, the second time (cached) as the first", async (t) => {
  const alice = await signedIn(0);
  const token = await issueClientAccessToken(alice.sub, { ...tokenSettings(), audience: 'an-rp' }, roost.deps.keys.signingKey(), clock, {
    sid: alice.sid,
    clientId: 'an-rp',
    scope: 'openid profile',
  });
  for (const time of ['first', 'again', 'once more']) {
    const answer = await me(token);
    t.equal(answer.status, 401, `${time}: 401`);
    t.match(answer.json, { code: 'invalid_token', detail: /OpenID Connect client/ });
  }
  t.equal((await me(alice.access)).status, 200, "the user's own token of the same session answers");
});

t.test('a key revoked by `npm run keys revoke`: its cached tokens fail as soon as the ring has read it, not one request later', async (t) => {
  const { access } = await signedIn(2);
  t.equal((await me(access)).status, 200, 'verified and cached');
  const kid = decodeProtectedHeader(access).kid as string;
  const context = { db: roost.deps.db, encryptionKey: roost.deps.encryptionKeys, policy: keyPolicy(roost.config), alg: roost.config.jwtAlg, now: () => clock };
  const revoked = await runKeysCommand(context, { name: 'revoke', kid });
  t.equal(revoked.exitCode, 0, revoked.output);
  await roost.deps.keys.refresh();
  t.notOk(
    roost.deps.keys.published().jwks.keys.some((key) => key.kid === kid),
    'the revoked key has left the JWKS',
  );
  const refused = await me(access);
  t.equal(refused.status, 401, 'the cached token is refused at once');
  t.match(refused.json, { code: 'invalid_token', detail: /invalid or expired/ });
  const fresh = await signedIn(2);
  t.not(decodeProtectedHeader(fresh.access).kid, kid, 'a new sign-in signs with the replacement');
  t.equal((await me(fresh.access)).status, 200, 'whose tokens answer');
});

t.test('the verified-token cache is bounded, and refused tokens take no place in it', async (t) => {
  const verified: string[] = [];
  const claims = (token: string): AccessClaims => ({ iss: 'i', sub: token, iat: 1, exp: 4_000_000_000, jti: token }) as AccessClaims;
  const keySet = { keys: [] };
  const verify = cacheVerifiedTokens(
    async (token) => {
      verified.push(token);
      if (token.startsWith('bad')) throw new Error('bad signature');
      return claims(token);
    },
    { keySet: () => keySet, maxEntries: 3 },
  );
  const now = Date.now();
  for (const token of ['a', 'b', 'c', 'bad1', 'bad2', 'bad1']) await verify(token, now).catch(() => undefined);
  t.same(verified, ['a', 'b', 'c', 'bad1', 'bad2', 'bad1'], 'failures are checked every time');
  verified.length = 0;
  for (const token of ['a', 'b', 'c']) await verify(token, now);
  t.same(verified, [], 'refusals pushed none of the three out');
  for (let i = 0; i < 1000; i++) await verify(`token-${i}`, now);
  verified.length = 0;
  for (const token of ['token-999', 'token-998', 'token-997']) await verify(token, now);
  t.same(verified, [], 'a thousand tokens later the last three are held');
  for (const token of ['a', 'token-996']) await verify(token, now);
  t.same(verified, ['a', 'token-996'], 'and nothing older');
});

// Load shedding.

const get = (on: Roost, path: string, init: RequestInit = {}) => fetch(`${on.url}${path}`, { redirect: 'manual', ...init });

/** Raw bytes on one connection; the socket. */
async function rawConnection(on: Roost, bytes: string): Promise<Socket> {
  const socket = connect(Number(new URL(on.url).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.on('error', () => undefined);
  socket.write(bytes);
  return socket;
}

/** A request whose body never comes: in flight until its socket closes. */
const heldRequest = (on: Roost) =>
  rawConnection(on, 'POST /logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nrefresh_token=');

async function until(t: Test, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) return void t.fail(`${what} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.pass(what);
}

t.test('no kind of finished request keeps its place in flight', async (t) => {
  const small = await startRoost(t, { env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_IN_FLIGHT: '2' } });
  const token = fragmentOf((await signIn(new Browser(), small, {})).location).get('access_token') as string;
  const kinds: [string, () => Promise<Response>][] = [
    ['an unknown path (404)', () => get(small, '/no/such/thing')],
    ['an unknown method on a known path', () => get(small, '/me', { method: 'PATCH' })],
    ['HEAD', () => get(small, '/.well-known/jwks.json', { method: 'HEAD' })],
    ['a query refused by validation (400)', () => get(small, '/login?return_to=javascript:alert(1)')],
    ['a body refused by validation', () => get(small, '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=nope' })],
    ['a body refused by validation (JSON)', () => get(small, '/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"refresh_token": 7}' })],
    ['/me without a token (401)', () => get(small, '/me')],
    ['/me with a malformed Authorization header', () => get(small, '/me', { headers: { authorization: `Bearer ${'x'.repeat(9000)}` } })],
    ['/me answered (200)', () => get(small, '/me', { headers: { authorization: `Bearer ${token}` } })],
    ['a CORS preflight', () => get(small, '/me', { method: 'OPTIONS', headers: { origin: 'http://app.test', 'access-control-request-method': 'GET' } })],
  ];
  for (const [what, send] of kinds) {
    const statuses = new Set<number>();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const response = await send();
      await response.arrayBuffer();
      statuses.add(response.status);
    }
    t.notOk(statuses.has(503), `${what}, 20 times: never shed (${[...statuses].join(', ')})`);
  }
  // Requests whose clients left: before the answer, mid-body, mid-headers.
  for (let i = 0; i < 10; i++) {
    (await rawConnection(small, `GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)).destroy();
    (await heldRequest(small)).destroy();
    (await rawConnection(small, 'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n')).destroy();
  }
  await until(t, 'ten abandoned requests of each kind later, two at once are still served', async () => {
    const both = await Promise.all([get(small, '/.well-known/jwks.json'), get(small, '/.well-known/jwks.json')]);
    return both.every((response) => response.status === 200);
  });
});

t.test('pipelined requests on a connection that drops free their places', async (t) => {
  // A route that takes a while, as any does while X or Postgres is slow; behind it, as many requests as there are places.
  const small = await startRoost(t, {
    env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_IN_FLIGHT: '5' },
    configure: (app) => {
      app.get('/slow', { schema: { hide: true } }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return 'done';
      });
    },
  });
  const pipelined = 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(5);
  const socket = await rawConnection(small, pipelined);
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 800));
  await until(t, 'once the slow answer is done, the places of the five behind it are free', async () => (await get(small, '/.well-known/jwks.json')).status === 200);
});

t.test('shed answers: Retry-After on every method, a page for a browser on the pages, health, readiness and metrics still answered', async (t) => {
  const small = await startRoost(t, { env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_IN_FLIGHT: '1' } });
  const held = await heldRequest(small);
  t.teardown(() => held.destroy());
  await until(t, 'full', async () => (await get(small, '/.well-known/jwks.json')).status === 503);
  const page = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
  for (const [path, init] of [
    ['/.well-known/jwks.json', { method: 'HEAD' }],
    ['/me', { method: 'OPTIONS', headers: { origin: 'http://app.test', 'access-control-request-method': 'GET' } }],
    ['/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x' }],
    [`/login?return_to=${encodeURIComponent(APP_URL)}`, { headers: page }],
  ] as [string, RequestInit][]) {
    const response = await get(small, path, init);
    await response.arrayBuffer();
    t.equal(response.status, 503, `${init.method ?? 'GET'} ${path}: 503`);
    t.equal(response.headers.get('retry-after'), String(RETRY_AFTER_SECONDS), `${init.method ?? 'GET'} ${path}: Retry-After`);
  }
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    for (const method of ['GET', 'HEAD']) t.equal((await get(small, path, { method })).status, 200, `${method} ${path} answers`);
  }
  held.destroy();
  await until(t, 'served again', async () => (await get(small, '/.well-known/jwks.json')).status === 200);
});

t.test('a browser shed at the home page or the documentation gets a page', async (t) => {
  const small = await startRoost(t, { env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_IN_FLIGHT: '1' } });
  const held = await heldRequest(small);
  t.teardown(() => held.destroy());
  await until(t, 'full', async () => (await get(small, '/.well-known/jwks.json')).status === 503);
  for (const path of ['/', '/docs']) {
    const response = await get(small, path, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    t.equal(response.status, 503, `${path}: 503`);
    t.equal(response.headers.get('retry-after'), String(RETRY_AFTER_SECONDS));
    t.match(response.headers.get('content-type'), /^text\/html/, `${path}: as a page`);
    await response.arrayBuffer();
  }
});
