// GET /me with its two caches, over real HTTP on the real Postgres: the
// verified token (until its exp, 60 s or a key change) and the profile (5 s,
// read only once the session is found live). Whatever they hold, an ended
// session is refused at once on this replica and within the session check's
// bound on another, a deleted user likewise, and an altered token never
// passes for the one it was made from.
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { startRoost } from '../helpers/roost.js';
import { SESSION_CHECK_CACHE_MS } from '../../src/sessions/session-check.js';
import { VERIFIED_TOKEN_CACHE_MS } from '../../src/sessions/verified-tokens.js';

let clock = Date.now();
const roost = await startRoost(t, { now: () => clock, env: { ACCESS_TOKEN_TTL: '900' } });

async function signedIn(user = 0): Promise<{ access: string; refresh: string; sub: string; sid: string }> {
  const answer = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  const access = answer.get('access_token') as string;
  const claims = decodeJwt(access);
  return { access, refresh: answer.get('refresh_token') as string, sub: claims.sub as string, sid: claims.sid as string };
}

async function me(token: string) {
  const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

t.beforeEach(() => {
  clock = Date.now();
});

t.test('the same token again: the same answer, byte for byte, with the same headers', async (t) => {
  const { access, sub } = await signedIn();
  const first = await me(access);
  const second = await me(access);
  t.equal(first.status, 200);
  t.equal(second.text, first.text);
  t.match(first.json, { id: sub });
  for (const answer of [first, second]) {
    t.equal(answer.headers.get('cache-control'), 'no-store');
    t.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
    t.equal(answer.headers.get('x-content-type-options'), 'nosniff');
    t.match(answer.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
  }
  t.not(second.headers.get('x-request-id'), first.headers.get('x-request-id'));
  const lines = roost.logs.filter((line) => line.msg === 'request' && line.route === '/me');
  t.ok(lines.length >= 2);
  for (const line of lines.slice(-2)) t.match(line, { userId: sub, status: 200, method: 'GET', path: '/me', reqId: /^[0-9a-f-]{36}$/ }, 'one request line each, with the user');
});

t.test('an ended session is refused at once on this replica, whatever is cached', async (t) => {
  const { access, sid } = await signedIn();
  t.equal((await me(access)).status, 200, 'token, session and profile cached');
  const ended = await fetch(`${roost.url}/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${access}` } });
  t.equal(ended.status, 204);
  const refused = await me(access);
  t.equal(refused.status, 401);
  t.match(refused.json, { code: 'invalid_token', detail: /session/ });
});

t.test('a profile changed elsewhere shows within SESSION_CHECK_CACHE_MS, no later', async (t) => {
  const { access, sub } = await signedIn(1);
  const before = (await me(access)).json.name as string;
  await roost.deps.db.updateTable('users').set({ name: 'Renamed Elsewhere' }).where('id', '=', sub).execute();
  clock += SESSION_CHECK_CACHE_MS - 1;
  t.equal((await me(access)).json.name, before, 'inside the bound: the cached profile');
  clock += 2;
  t.equal((await me(access)).json.name, 'Renamed Elsewhere', 'past the bound: read again');
});

t.test('a user deleted by another replica is refused within the bound', async (t) => {
  const { access, sub } = await signedIn(2);
  t.equal((await me(access)).status, 200);
  // As another replica's DELETE /me does: the user and (by cascade) the sessions go, and this replica is not told.
  await roost.deps.db.deleteFrom('users').where('id', '=', sub).execute();
  clock += SESSION_CHECK_CACHE_MS + 1;
  const refused = await me(access);
  t.equal(refused.status, 401);
  t.match(refused.json, { code: 'invalid_token' });
});

t.test('a token past its exp is refused though it was cached', async (t) => {
  const { access } = await signedIn(0);
  const { exp } = decodeJwt(access) as { exp: number };
  t.equal((await me(access)).status, 200);
  t.ok(exp * 1000 - clock > VERIFIED_TOKEN_CACHE_MS, 'the token outlives the cache bound');
  clock += VERIFIED_TOKEN_CACHE_MS + 1;
  t.equal((await me(access)).status, 200, 'verified again past the cache bound, still good');
  clock = exp * 1000;
  const refused = await me(access);
  t.equal(refused.status, 401, 'refused from the second of its exp on');
  t.match(refused.json, { code: 'invalid_token', detail: /invalid or expired/ });
});

t.test('an altered copy of a cached token is refused', async (t) => {
  const { access } = await signedIn(1);
  t.equal((await me(access)).status, 200, 'the genuine token is cached');
  const [header, payload, signature] = access.split('.') as [string, string, string];
  const claims = decodeJwt(access);
  const otherUser = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
  const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
  for (const forged of [`${header}.${otherUser}.${signature}`, `${header}.${payload}.${flipped}`, `${header}.${payload}.`]) {
    const answer = await me(forged);
    t.equal(answer.status, 401);
    t.match(answer.json, { code: 'invalid_token' });
  }
  t.equal((await me(access)).status, 200, 'the genuine token still answers');
});
