// Postgres or Redis going away while roost runs: requests fail fast with a
// 503 problem (a sign-in callback, back at the app with
// error=temporarily_unavailable), nothing hangs, and service resumes by itself.
import t from 'tap';
import { addedTo, failedSignIns, failureLine } from '../helpers/back-at-app.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { postgres, redis, databaseUrl, redisUrl } = await startDependencyProxies(t);
const roost = await startRoost(t, { env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } });

const loginUrl = `${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;

async function timed(work: () => Promise<{ status: number; body: string }>) {
  const started = performance.now();
  const result = await work();
  return { ...result, ms: performance.now() - started, json: JSON.parse(result.body || 'null') as Record<string, unknown> | null };
}

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 60; attempt++) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

t.test('Redis away: /login answers 503 store_unavailable at once, then recovers', async (t) => {
  await redis.cut();
  const result = await timed(() => new Browser().get(loginUrl));
  t.equal(result.status, 503);
  t.match(result.json, { code: 'store_unavailable', status: 503 });
  t.ok(result.ms < 3000, `answered in ${Math.round(result.ms)} ms`);
  await redis.restore();
  t.ok(await eventually(async () => (await new Browser().get(loginUrl)).status === 302), 'sign-in starts again');
});

t.test('Postgres away: /me answers 503 database_unavailable, the callback sends the app temporarily_unavailable, then both recover', async (t) => {
  const token = fragmentOf((await signIn(new Browser(), roost)).location).get('access_token') as string;
  const me = () => fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, body: await r.text() }));

  await postgres.cut();
  const down = await timed(me);
  t.equal(down.status, 503);
  t.match(down.json, { code: 'database_unavailable' });
  t.ok(down.ms < 5000, `answered in ${Math.round(down.ms)} ms`);

  const before = await failedSignIns(roost.url);
  const logged = roost.logs.length;
  const started = performance.now();
  const callback = await signIn(new Browser(), roost, { loginQuery: { state: 'pg-down' } });
  const ms = performance.now() - started;
  t.equal(callback.status, 302, 'the callback sends the browser back to the app');
  t.same(
    addedTo(callback.location, `${APP_ORIGIN}/signed-in`),
    { error: 'temporarily_unavailable', error_description: 'The database did not answer; try again shortly', state: 'pg-down' },
    'with an error worth retrying, and no tokens',
  );
  t.ok(ms < 5000, `the whole sign-in took ${Math.round(ms)} ms`);
  t.equal((await failedSignIns(roost.url))('database_unavailable'), before('database_unavailable') + 1, 'counted under database_unavailable');
  t.match(failureLine(roost.logs.slice(logged), 'database_unavailable'), { level: 50, msg: 'request failed' }, 'logged as a failure');

  await postgres.restore();
  t.ok(await eventually(async () => (await me()).status === 200), '/me answers again');
  const again = await signIn(new Browser(), roost);
  t.equal(again.status, 302, 'sign-in completes again');
  t.ok(fragmentOf(again.location).get('access_token'), 'with tokens');
});

t.test('Postgres away: refresh and logout answer 503 at once, and the refresh token survives', async (t) => {
  const refreshToken = fragmentOf((await signIn(new Browser(), roost)).location).get('refresh_token') as string;
  const post = (path: string, form: Record<string, string>) =>
    fetch(`${roost.url}${path}`, { method: 'POST', body: new URLSearchParams(form) }).then(async (r) => ({ status: r.status, body: await r.text() }));
  const refresh = () => post('/token', { grant_type: 'refresh_token', refresh_token: refreshToken });

  await postgres.cut();
  for (const [name, work] of [['refresh', refresh], ['logout', () => post('/logout', { refresh_token: refreshToken })]] as const) {
    const down = await timed(work);
    t.equal(down.status, 503, name);
    t.match(down.json, { code: 'database_unavailable' }, name);
    t.ok(down.ms < 5000, `${name} answered in ${Math.round(down.ms)} ms`);
  }
  await postgres.restore();
  t.ok(await eventually(async () => (await refresh()).status === 200), 'the token that failed during the outage still refreshes');
});
