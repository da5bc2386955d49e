// Per-client-address limits on /login, /login/callback and POST /token: 429
// problem+json with Retry-After, counters shared through Redis by every replica.
// Which address a request counts as (TRUST_PROXY, X-Forwarded-For) is in
// trust-proxy.test.ts; IPv6 clients counted by /64 in rate-limit-ipv6.test.ts.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import t from 'tap';
import { APP_ORIGIN, startRoost, type Roost } from '../helpers/roost.js';

const LIMIT = { LOGIN_RATE_LIMIT: '3', LOGIN_RATE_LIMIT_WINDOW: '60' };
const loginPath = `/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;

async function get(roost: Roost, path: string) {
  const response = await fetch(`${roost.url}${path}`, { redirect: 'manual' });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function postToken(roost: Roost, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${roost.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function statuses(roost: Roost, path: string, count: number) {
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push((await get(roost, path)).status);
  return result;
}

t.test('the fourth /login in a window is a 429 problem with Retry-After', async (t) => {
  const roost = await startRoost(t, { env: LIMIT });
  t.same(await statuses(roost, loginPath, 3), [302, 302, 302]);
  const limited = await get(roost, loginPath);
  t.equal(limited.status, 429);
  t.equal(limited.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.equal(limited.headers.get('cache-control'), 'no-store');
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
  t.equal(limited.headers.get('x-ratelimit-limit'), '3');
  t.equal(limited.headers.get('x-ratelimit-remaining'), '0');
  t.match(JSON.parse(limited.body), { code: 'rate_limited', status: 429, type: 'urn:roost:problem:rate_limited', detail: /try again in \d+ s/ });

  // The callback counts on its own, refused requests included.
  t.same(await statuses(roost, '/login/callback', 4), [400, 400, 400, 429], 'the callback has its own counter');
  t.same(await statuses(roost, '/healthz', 5), [200, 200, 200, 200, 200], 'other routes are not limited');
  t.same(await statuses(roost, '/me', 5), [401, 401, 401, 401, 401]);
});

t.test('replicas sharing Redis share the counters', async (t) => {
  const redisKeyPrefix = `roost-test:${randomBytes(6).toString('hex')}:`;
  const one = await startRoost(t, { env: LIMIT, redisKeyPrefix });
  const two = await startRoost(t, { env: LIMIT, redisKeyPrefix });
  t.same([...(await statuses(one, loginPath, 2)), ...(await statuses(two, loginPath, 2))], [302, 302, 302, 429]);
});

t.test('without Redis the counters live in the process', async (t) => {
  const roost = await startRoost(t, { env: { ...LIMIT, REDIS_URL: undefined } });
  t.equal(roost.deps.redis, undefined);
  t.same(await statuses(roost, loginPath, 4), [302, 302, 302, 429]);
});

t.test('LOGIN_RATE_LIMIT=0 turns the limit off', async (t) => {
  const roost = await startRoost(t, { env: { LOGIN_RATE_LIMIT: '0' } });
  t.same(await statuses(roost, '/login/callback', 5), [400, 400, 400, 400, 400]);
  t.equal((await get(roost, '/login/callback')).headers.get('x-ratelimit-limit'), null);
});

t.test('a request whose connection is gone before it is counted is no 500', async (t) => {
  const roost = await startRoost(t, { env: LIMIT });
  // The second, malformed request makes the server drop the connection while the first is still being handled.
  const answer = await new Promise<string>((resolve) => {
    const socket = connect(roost.config.port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += String(chunk)));
    socket.on('close', () => resolve(data));
    socket.write(`GET ${loginPath} HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n`);
  });
  t.match(answer, /^HTTP\/1.1 400 /, 'the malformed request is answered');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.notOk(roost.logs.some((line) => line.level === 50), 'nothing failed on the server');
});

const TOKEN_LIMIT = { TOKEN_RATE_LIMIT: '3', TOKEN_RATE_LIMIT_WINDOW: '60' };
const refresh = `grant_type=refresh_token&refresh_token=${'A'.repeat(43)}`;

t.test('the fourth POST /token in a window is a 429 problem with Retry-After, before the body is read', async (t) => {
  const roost = await startRoost(t, { env: TOKEN_LIMIT });
  const answers = [await postToken(roost, refresh), await postToken(roost, 'grant_type=password'), await postToken(roost, refresh)];
  t.same(answers.map((answer) => answer.status), [400, 400, 400], 'refused grants count too');
  t.match(JSON.parse(answers[0]?.body ?? '{}'), { error: 'invalid_grant' });
  const limited = await postToken(roost, refresh, { origin: APP_ORIGIN });
  t.equal(limited.status, 429);
  t.equal(limited.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.equal(limited.headers.get('cache-control'), 'no-store');
  t.equal(limited.headers.get('pragma'), 'no-cache');
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
  t.equal(limited.headers.get('x-ratelimit-limit'), '3');
  t.match(JSON.parse(limited.body), { code: 'rate_limited', status: 429, detail: /try again in \d+ s/ });
  t.equal(limited.headers.get('access-control-allow-origin'), APP_ORIGIN, 'an app can read it');
  t.match(limited.headers.get('access-control-expose-headers'), /retry-after/, 'Retry-After included');
  t.equal((await postToken(roost, 'x'.repeat(8192))).status, 429, 'an oversized body is refused by the limit, not read');
  t.same(await statuses(roost, loginPath, 3), [302, 302, 302], 'the login routes count on their own');
});

t.test('replicas sharing Redis share the /token counter', async (t) => {
  const redisKeyPrefix = `roost-test:${randomBytes(6).toString('hex')}:`;
  const one = await startRoost(t, { env: TOKEN_LIMIT, redisKeyPrefix });
  const two = await startRoost(t, { env: TOKEN_LIMIT, redisKeyPrefix });
  const seen = [(await postToken(one, refresh)).status, (await postToken(two, refresh)).status, (await postToken(one, refresh)).status, (await postToken(two, refresh)).status];
  t.same(seen, [400, 400, 400, 429]);
});

t.test('TOKEN_RATE_LIMIT=0 turns the /token limit off', async (t) => {
  const roost = await startRoost(t, { env: { TOKEN_RATE_LIMIT: '0', LOGIN_RATE_LIMIT: '3' } });
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) seen.push((await postToken(roost, refresh)).status);
  t.same(seen, [400, 400, 400, 400, 400]);
  t.equal((await postToken(roost, refresh)).headers.get('x-ratelimit-limit'), null);
});
