// A real redis-server and a real Postgres, started by this test on ports of
// their own, stopped, frozen and started again while roost runs: requests
// that need the missing dependency get a prompt 503 (a sign-in callback whose
// flow was read, a prompt way back to the app with
// error=temporarily_unavailable), the others carry on, and service resumes by
// itself when the dependency is back.
import t from 'tap';
import { addedTo, failedSignIns, failureLine } from '../helpers/back-at-app.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent, signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';
import { postgresBinaries, startThrowawayPostgres, startThrowawayRedis } from '../helpers/throwaway.js';

if (!postgresBinaries()) {
  // CI must run it; a laptop without a Postgres server install may skip it.
  if (process.env.CI) throw new Error('no Postgres server binaries under /usr/lib/postgresql to start a throwaway cluster with');
  t.plan(0, 'no Postgres server binaries to start a throwaway cluster with');
  process.exit(0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const [redis, postgres] = await Promise.all([startThrowawayRedis(), startThrowawayPostgres()]);
t.teardown(async () => {
  await redis.close();
  await postgres.close();
});
// A short query timeout keeps the frozen-Postgres case quick; the default is 5000.
const roost = await startRoost(t, { env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url, DATABASE_TIMEOUT_MS: '1000' } });
const loginUrl = `${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;

interface Timed {
  readonly status: number;
  readonly code: unknown;
  readonly ms: number;
  readonly location: string | null;
}

async function timed(work: () => Promise<{ status: number; body: string; location?: string | null }>): Promise<Timed> {
  const started = performance.now();
  const { status, body, location = null } = await work();
  let code: unknown;
  try {
    code = (JSON.parse(body) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  return { status, code, ms: Math.round(performance.now() - started), location };
}

const login = () => timed(() => new Browser().get(loginUrl));
const me = (token: string) => timed(async () => {
  const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.text() };
});

/** GET /readyz: its status and the state of each check. */
async function readiness(): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await fetch(`${roost.url}/readyz`);
  const body = (await response.json()) as { checks?: Record<string, string> };
  return { status: response.status, checks: body.checks ?? {} };
}

/** Retries until the check passes; the time it took, or undefined if it never did. */
async function recovers(check: () => Promise<boolean>): Promise<number | undefined> {
  const started = performance.now();
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return Math.round(performance.now() - started);
    await sleep(100);
  }
  return undefined;
}

const measured: Record<string, number> = {};
const first = await signIn(new Browser(), roost);
const token = fragmentOf(first.location).get('access_token') as string;

t.test('Redis stopped: sign-ins get 503 at once, /me carries on, and it all resumes', async (t) => {
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, roost);
  await redis.stop();

  const start = await login();
  t.match(start, { status: 503, code: 'store_unavailable' }, '/login');
  const finish = await timed(() => browser.get(callbackUrl));
  t.match(finish, { status: 503, code: 'store_unavailable' }, '/login/callback');
  t.match(await me(token), { status: 200 }, '/me needs no Redis');
  t.equal((await fetch(`${roost.url}/healthz`)).status, 200);
  t.match(await readiness(), { status: 503, checks: { redis: 'down', postgres: 'ok' } }, '/readyz names Redis');
  measured['redis stopped: /login'] = start.ms;
  t.ok(start.ms < 3000 && finish.ms < 3000, 'no request waits for Redis');

  await redis.start();
  const back = await recovers(async () => (await login()).status === 302);
  t.ok(back !== undefined, 'sign-ins start again without a restart of roost');
  measured['redis restarted: back after'] = back ?? -1;
  t.match(await readiness(), { status: 200, checks: { redis: 'ok', postgres: 'ok' } }, 'ready again');
  // The restarted Redis kept nothing (no persistence): the earlier flow is gone, a new one works.
  t.match(await timed(() => browser.get(callbackUrl)), { status: 400, code: 'flow_not_found' });
  t.equal((await signIn(new Browser(), roost)).status, 302);
});

t.test('Redis frozen: 503 after the command timeout, then it resumes', async (t) => {
  redis.freeze();
  t.teardown(() => redis.thaw());
  const start = await login();
  t.match(start, { status: 503, code: 'store_unavailable' });
  t.match(await readiness(), { status: 503, checks: { redis: 'down' } }, '/readyz names Redis');
  measured['redis frozen: /login'] = start.ms;
  t.ok(start.ms < 5000, `answered in ${start.ms} ms`);
  redis.thaw();
  t.ok((await recovers(async () => (await login()).status === 302)) !== undefined, 'resumes when Redis answers again');
});

t.test('Postgres stopped: /me gets 503 and the callback sends the app temporarily_unavailable at once, /login carries on, and it all resumes', async (t) => {
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, roost, { loginQuery: { state: 'while-pg-stops' } });
  // A session /me has not seen (one it answered within SESSION_CHECK_CACHE_MS is answered from memory).
  const unseen = fragmentOf((await signIn(new Browser(), roost)).location).get('access_token') as string;
  await postgres.stop();

  const down = await me(unseen);
  t.match(down, { status: 503, code: 'database_unavailable' }, '/me');
  const failedBefore = await failedSignIns(roost.url);
  const logged = roost.logs.length;
  const finish = await timed(() => browser.get(callbackUrl));
  t.match(finish, { status: 302 }, '/login/callback sends the browser back to the app');
  t.same(
    addedTo(finish.location, `${APP_ORIGIN}/signed-in`),
    { error: 'temporarily_unavailable', error_description: 'The database did not answer; try again shortly', state: 'while-pg-stops' },
    'with an error worth retrying, the state, and no tokens',
  );
  t.equal((await failedSignIns(roost.url))('database_unavailable'), failedBefore('database_unavailable') + 1, 'counted under database_unavailable');
  t.match(failureLine(roost.logs.slice(logged), 'database_unavailable'), { level: 50, msg: 'request failed' }, 'logged as a failure');
  t.match(await login(), { status: 302 }, '/login needs no Postgres');
  t.match(await readiness(), { status: 503, checks: { postgres: 'down', redis: 'ok' } }, '/readyz names Postgres');
  measured['postgres stopped: /me'] = down.ms;
  t.ok(down.ms < 3000 && finish.ms < 3000, 'no request waits for Postgres');

  await postgres.start();
  const back = await recovers(async () => (await me(token)).status === 200);
  t.ok(back !== undefined, '/me answers again without a restart of roost');
  measured['postgres restarted: back after'] = back ?? -1;
  t.match(await readiness(), { status: 200, checks: { postgres: 'ok', redis: 'ok' } }, 'ready again');
  t.equal((await signIn(new Browser(), roost)).status, 302, 'sign-ins complete again');
});

t.test('Postgres frozen: 503 within the query timeout, then it resumes', async (t) => {
  const unseen = fragmentOf((await signIn(new Browser(), roost)).location).get('access_token') as string;
  postgres.freeze();
  t.teardown(() => postgres.thaw());
  const [a, b] = await Promise.all([me(unseen), me(unseen)]);
  t.match(a, { status: 503, code: 'database_unavailable' });
  t.match(b, { status: 503, code: 'database_unavailable' });
  measured['postgres frozen: /me'] = Math.max(a.ms, b.ms);
  t.match(await readiness(), { status: 503, checks: { postgres: 'down' } }, '/readyz names Postgres');
  t.ok(a.ms < 4000 && b.ms < 4000, `answered in ${a.ms} and ${b.ms} ms`);
  postgres.thaw();
  t.ok((await recovers(async () => (await me(token)).status === 200)) !== undefined, 'resumes when Postgres answers again');
  t.equal((await signIn(new Browser(), roost)).status, 302);
});

t.test('measured', async (t) => {
  t.comment(JSON.stringify(measured));
  t.ok(Object.keys(measured).length >= 6);
});
