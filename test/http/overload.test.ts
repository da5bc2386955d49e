// Load shedding over real HTTP: a saturated event loop and a full in-flight
// bound are answered 503 overloaded with Retry-After (a page for a browser
// on the browser routes), /healthz, /readyz and /metrics still answer, a
// request that leaves early frees its place, and a burst of ordinary load at
// the defaults is never refused.
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config.js';
import { RETRY_AFTER_SECONDS } from '../../src/http/overload.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_URL, startRoost, type Roost } from '../helpers/roost.js';

const get = (roost: Roost, path: string, headers: Record<string, string> = {}) => fetch(`${roost.url}${path}`, { headers, redirect: 'manual' });

async function expectOverloaded(t: Test, response: Response, what: string) {
  t.equal(response.status, 503, `${what}: 503`);
  t.equal(response.headers.get('retry-after'), String(RETRY_AFTER_SECONDS), `${what}: Retry-After`);
  t.equal(response.headers.get('cache-control'), 'no-store');
  t.equal(response.headers.get('x-content-type-options'), 'nosniff', `${what}: the security headers`);
  t.match(response.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
  t.match(response.headers.get('content-type'), /^application\/problem\+json/);
  t.match(await response.json(), { type: 'urn:roost:problem:overloaded', status: 503, code: 'overloaded', detail: /too busy/ });
}

/** A request whose body never comes: in flight until the socket closes. */
async function heldRequest(roost: Roost): Promise<Socket> {
  const { port } = new URL(roost.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('POST /logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nrefresh_token=');
  return socket;
}

async function until(t: Test, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) return void t.fail(`${what} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.pass(what);
}

t.test('the settings: on by default, 0 turns a bound off, out-of-range values are refused', async (t) => {
  const base = { TWITTER_CONSUMER_KEY: 'k', TWITTER_CONSUMER_SECRET: 's', RETURN_TO_URLS: APP_URL };
  t.match(loadConfig(base), { overloadMaxEventLoopDelayMs: 500, overloadMaxInFlight: 1000 });
  t.match(loadConfig({ ...base, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_IN_FLIGHT: '0' }), { overloadMaxEventLoopDelayMs: 0, overloadMaxInFlight: 0 });
  t.throws(() => loadConfig({ ...base, OVERLOAD_MAX_IN_FLIGHT: '-1' }), /OVERLOAD_MAX_IN_FLIGHT/);
  t.throws(() => loadConfig({ ...base, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: 'soon' }), /OVERLOAD_MAX_EVENT_LOOP_DELAY_MS/);
});

/** Keeps the event loop busy (as a saturated CPU does) in runs of `ms`, with a moment for I/O between them; returns the stop. */
function hogEventLoop(ms: number): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // Work that holds the one JavaScript thread.
    }
  }, 1);
  return () => clearInterval(timer);
}

t.test('one long pause sheds nothing: the loop runs on time after it', async (t) => {
  const roost = await startRoost(t, { env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '300', OVERLOAD_MAX_IN_FLIGHT: '0' } });
  t.equal((await get(roost, '/.well-known/jwks.json')).status, 200);
  // Checks on time first, then the pause.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const until = performance.now() + 1500;
  while (performance.now() < until) {
    // A long synchronous task, once.
  }
  const statuses = await Promise.all([1, 2, 3].map(async () => (await get(roost, '/.well-known/jwks.json')).status));
  t.same(statuses, [200, 200, 200]);
});

t.test('a saturated event loop: what arrives meanwhile is refused, health, readiness and metrics answer, then service resumes', async (t) => {
  const roost = await startRoost(t, { env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '300', OVERLOAD_MAX_IN_FLIGHT: '0' } });
  t.equal((await get(roost, '/.well-known/jwks.json')).status, 200, 'served before');
  const stop = hogEventLoop(500);
  t.teardown(stop);
  // Two checks late in a row.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const [jwks, loginPage, loginApi, healthz, readyz, metrics] = await Promise.all([
    get(roost, '/.well-known/jwks.json'),
    get(roost, `/login?return_to=${encodeURIComponent(APP_URL)}`, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }),
    get(roost, `/login?return_to=${encodeURIComponent(APP_URL)}`),
    get(roost, '/healthz'),
    get(roost, '/readyz'),
    get(roost, '/metrics'),
  ]);
  stop();
  await expectOverloaded(t, jwks, 'the JWKS');
  await expectOverloaded(t, loginApi, '/login for an API client');
  t.equal(loginPage.status, 503, 'a browser at /login: 503');
  t.match(loginPage.headers.get('content-type'), /^text\/html/, 'as a page');
  t.match(loginPage.headers.get('content-security-policy'), /default-src 'none'/);
  t.equal(loginPage.headers.get('retry-after'), String(RETRY_AFTER_SECONDS));
  t.match(await loginPage.text(), /overloaded/);
  t.equal(healthz.status, 200, '/healthz answers');
  t.equal(readyz.status, 200, '/readyz answers');
  t.equal(metrics.status, 200, '/metrics answers');
  t.match(await metrics.text(), /roost_requests_shed_total\{reason="event_loop_delay"\} [1-9]/);
  t.ok(roost.logs.some((line) => line.msg === 'request' && line.status === 503 && line.route === '/.well-known/jwks.json'), 'the refusal has its request line');
  await until(t, 'served again once the loop runs on time', async () => (await get(roost, '/.well-known/jwks.json')).status === 200);
});

t.test('a full in-flight bound: the next request is refused until one leaves, even by hanging up', async (t) => {
  const roost = await startRoost(t, { env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_IN_FLIGHT: '2' } });
  const held = [await heldRequest(roost), await heldRequest(roost)];
  t.teardown(() => held.forEach((socket) => socket.destroy()));
  await until(t, 'the third request is refused', async () => (await get(roost, '/.well-known/jwks.json')).status === 503);
  await expectOverloaded(t, await get(roost, '/.well-known/jwks.json'), 'the JWKS');
  t.equal((await get(roost, '/healthz')).status, 200, '/healthz answers');
  t.match(await (await get(roost, '/metrics')).text(), /roost_requests_shed_total\{reason="in_flight"\} [1-9]/);
  // The client of one held request goes away: its place is free.
  held[0]?.destroy();
  await until(t, 'a place is free again', async () => (await get(roost, '/.well-known/jwks.json')).status === 200);
  t.equal((await get(roost, '/.well-known/jwks.json')).status, 200, 'and stays free');
});

t.test('at the defaults, a burst of ordinary requests is never refused', async (t) => {
  const roost = await startRoost(t);
  const answer = fragmentOf((await signIn(new Browser(), roost, {})).location);
  const token = answer.get('access_token') as string;
  // As many at once as the benchmark's clients (50), in rounds.
  const statuses: number[] = [];
  for (let round = 0; round < 4; round++) {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? get(roost, '/.well-known/jwks.json') : get(roost, '/me', { authorization: `Bearer ${token}` })).then((r) => r.status)),
    );
    statuses.push(...answers);
  }
  t.same([...new Set(statuses)], [200], '4 rounds of 50 requests at once, all answered');
  t.notMatch(await (await get(roost, '/metrics')).text(), /roost_requests_shed_total\{/, 'nothing shed');
});
