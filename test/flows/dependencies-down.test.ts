// X, Postgres or Redis going away while roost runs, in the middle of a
// sign-in, under each protocol roost speaks with X: requests fail fast with
// a 503 problem (a sign-in callback whose flow was read goes back to the app
// with error=temporarily_unavailable), nothing hangs, nothing is half done,
// and service resumes by itself.
import t, { type Test } from 'tap';
import { startSandboxServer } from '../../src/sandbox/provider.js';
import { createDefaultSandboxUsers } from '../../src/sandbox/users.js';
import type { UpstreamProtocol } from '../../src/twitter/upstream.js';
import { addedTo, failedSignIns, failureLine } from '../helpers/back-at-app.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { startCuttableProxy, type CuttableProxy } from '../helpers/cuttable-proxy.js';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import { consent, signIn } from '../helpers/flow.js';
import { APP_ORIGIN, APP_URL, CLIENT_ID, CLIENT_SECRET, CONSUMER_KEY, CONSUMER_SECRET, freePort, PROTOCOLS, startRoost, type Roost } from '../helpers/roost.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed(work: () => Promise<{ status: number; body: string; location?: string | null }>) {
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

/**
 * The sandbox X behind a proxy that can be cut, as X becoming unreachable
 * would be: roost and the browser reach it only through the proxy, whose
 * address is the one the sandbox checks signatures and callbacks against.
 */
async function startCuttableX(t: Test, roostPort: number): Promise<{ x: CuttableProxy; url: string }> {
  const sandboxPort = await freePort();
  const x = await startCuttableProxy('127.0.0.1', sandboxPort);
  const url = `http://127.0.0.1:${x.port}`;
  const sandbox = await startSandboxServer({
    consumerKey: CONSUMER_KEY,
    consumerSecret: CONSUMER_SECRET,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    users: createDefaultSandboxUsers(),
    allowedCallbacks: [`http://127.0.0.1:${roostPort}/login/callback`],
    host: '127.0.0.1',
    port: sandboxPort,
    baseUrl: url,
  });
  t.teardown(async () => {
    await x.close();
    await sandbox.close();
  });
  return { x, url };
}

/** What roost names for the first call to X at the callback, in its words for each protocol. */
const FIRST_CALL_AT_CALLBACK: Record<UpstreamProtocol, string> = {
  oauth1: 'Twitter could not be reached for oauth/access_token',
  oauth2: 'X could not be reached for 2/oauth2/token',
};

for (const protocol of PROTOCOLS) {
  t.test(protocol, async (t) => {
    const port = await freePort();
    const { x, url: xUrl } = await startCuttableX(t, port);
    const { postgres, redis, databaseUrl, redisUrl } = await startDependencyProxies(t);
    const roost = await startRoost(t, { protocol, port, providerUrl: xUrl, env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } });
    const loginUrl = `${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;

    t.test('X away mid-flow: the callback sends the app temporarily_unavailable at once, then sign-in recovers', async (t) => {
      const browser = new Browser();
      const { callbackUrl } = await consent(browser, roost, { loginQuery: { state: 'x-down' } });
      await x.cut();
      const before = await failedSignIns(roost.url);
      const logged = roost.logs.length;
      const callback = await timed(() => browser.get(callbackUrl));
      t.equal(callback.status, 302, 'the callback sends the browser back to the app');
      t.same(addedTo(callback.location, APP_URL), { error: 'temporarily_unavailable', error_description: FIRST_CALL_AT_CALLBACK[protocol], state: 'x-down' }, 'with an error worth retrying, and no tokens');
      t.ok(callback.ms < 3000, `answered in ${Math.round(callback.ms)} ms`);
      t.equal((await failedSignIns(roost.url))('twitter_unavailable'), before('twitter_unavailable') + 1, 'counted under twitter_unavailable');
      t.match(failureLine(roost.logs.slice(logged), 'twitter_unavailable'), { level: 50, msg: 'request failed' }, 'logged as a failure');
      t.equal(Number((await roost.deps.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n), 0, 'no user was written');

      const login = await timed(() => new Browser().get(loginUrl));
      if (protocol === 'oauth1') {
        // The request token is X's first step: without X there is no sign-in to start.
        t.equal(login.status, 502, '/login needs X under OAuth 1.0a');
        t.match(login.json, { code: 'twitter_unavailable', detail: 'Twitter could not be reached for oauth/request_token' });
        t.ok(login.ms < 3000, `answered in ${Math.round(login.ms)} ms`);
      } else {
        t.equal(login.status, 302, '/login calls nobody under OAuth 2.0: the browser is sent to X, whatever state X is in');
      }

      await x.restore();
      const again = await signIn(new Browser(), roost);
      t.equal(again.status, 302, 'sign-in completes again');
      t.ok(fragmentOf(again.location).get('access_token'), 'with tokens');
    });

    t.test('Redis away mid-flow: /login and the callback answer 503 store_unavailable at once, and the flow is not spent', async (t) => {
      const browser = new Browser();
      const { callbackUrl } = await consent(browser, roost, { loginQuery: { state: 'redis-down' } });
      const flowCookie = browser.cookies.get('roost_flow') as string;
      await redis.cut();
      const login = await timed(() => new Browser().get(loginUrl));
      t.equal(login.status, 503);
      t.match(login.json, { code: 'store_unavailable', status: 503 });
      t.ok(login.ms < 3000, `/login answered in ${Math.round(login.ms)} ms`);
      // The flow cannot be read, so no app is known to send the browser back to.
      const callback = await timed(() => browser.get(callbackUrl));
      t.equal(callback.status, 503);
      t.match(callback.json, { code: 'store_unavailable', status: 503 });
      t.ok(callback.ms < 3000, `the callback answered in ${Math.round(callback.ms)} ms`);

      await redis.restore();
      t.ok(await eventually(async () => (await new Browser().get(loginUrl)).status === 302), 'sign-in starts again');
      // The failed callback took nothing from the store, and left the browser its cookie: the same callback finishes the sign-in.
      t.equal(browser.cookies.get('roost_flow'), flowCookie, 'the 503 kept the flow cookie');
      const finished = await browser.get(callbackUrl);
      t.equal(finished.status, 302);
      t.match(addedTo(finished.location, APP_URL), { access_token: String, state: 'redis-down' }, 'signed in, with the state');
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
        addedTo(callback.location, APP_URL),
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

    // Refresh and logout never call X: once is enough.
    if (protocol === PROTOCOLS[0]) refreshAndLogoutTest(t, roost, postgres);
  });
}

function refreshAndLogoutTest(t: Test, roost: Roost, postgres: CuttableProxy) {
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
}
