// Graceful shutdown of the real process: on SIGTERM/SIGINT roost stops
// accepting, lets an in-flight request finish, closes its pools and exits 0;
// past SHUTDOWN_TIMEOUT_MS, or on a second signal, it exits 1 at once.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import t from 'tap';
import { startFakeTwitter, WORKING } from './helpers/fake-twitter.js';
import { spawnRoost, waitFor, type RoostProcess } from './helpers/process.js';
import { APP_ORIGIN, CONSUMER_KEY, CONSUMER_SECRET, createTestSchema, freePort, TEST_REDIS_URL } from './helpers/roost.js';

const twitter = await startFakeTwitter();
t.teardown(() => twitter.close());
const databaseUrl = await createTestSchema(t);
// Shared by the processes of this file, as by replicas: the signing key is sealed with it.
const secrets = { COOKIE_SECRET: randomBytes(32).toString('hex'), ENCRYPTION_KEY: randomBytes(32).toString('hex') };

/** request_token calls wait here until the test lets them through. */
const held: Array<() => void> = [];
twitter.behaviours.request_token = (request, response: ServerResponse) => {
  held.push(() => WORKING.request_token(request, response));
};

async function start(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const roost = spawnRoost(t, {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `roost-test:${randomBytes(6).toString('hex')}:`,
    TWITTER_CONSUMER_KEY: CONSUMER_KEY,
    TWITTER_CONSUMER_SECRET: CONSUMER_SECRET,
    TWITTER_API_URL: twitter.url,
    TWITTER_TIMEOUT_MS: '30000',
    RETURN_TO_URLS: `${APP_ORIGIN}/signed-in`,
    ...secrets,
    ...env,
  });
  await roost.ready();
  return { roost, url };
}

/** Starts a sign-in whose call to Twitter is held, and waits until it is. */
async function inFlightLogin(url: string) {
  const before = twitter.calls.request_token;
  const response = fetch(`${url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/signed-in`)}`, { redirect: 'manual' });
  response.catch(() => {});
  await waitFor(() => twitter.calls.request_token > before, 'the sign-in to reach Twitter');
  // Wrapped: an async function returning the bare promise would wait for it.
  return { response };
}

const logged = (roost: RoostProcess, msg: string) => waitFor(() => roost.logs().some((line) => line.msg === msg), `"${msg}" in the log`);

t.test('SIGTERM: the in-flight request completes, new connections are refused, exit 0', async (t) => {
  const { roost, url } = await start(t);
  const { response } = await inFlightLogin(url);

  roost.child.kill('SIGTERM');
  await logged(roost, 'closing: finishing in-flight requests');
  await t.rejects(fetch(`${url}/healthz`), 'no new connections while closing');
  t.equal(roost.child.exitCode, null, 'still running while a request is in flight');

  held.shift()?.();
  const answer = await response;
  t.equal(answer.status, 302, 'the in-flight sign-in got its answer');
  t.match(answer.headers.get('location'), `${twitter.url}/oauth/authenticate?oauth_token=`);
  t.equal(await roost.exited, 0);
  t.ok(roost.logs().some((line) => line.msg === 'closed'), 'the pools were closed before exit');
});

t.test('a second signal exits at once', async (t) => {
  const { roost, url } = await start(t);
  const { response } = await inFlightLogin(url);
  roost.child.kill('SIGINT');
  await logged(roost, 'closing: finishing in-flight requests');
  roost.child.kill('SIGTERM');
  t.equal(await roost.exited, 1);
  t.ok(roost.logs().some((line) => line.msg === 'second signal: exiting now' && line.signal === 'SIGTERM'), 'the second signal is logged');
  await t.rejects(response, 'the held request is cut off');
  held.length = 0;
});

t.test('past SHUTDOWN_TIMEOUT_MS the process exits 1 without waiting further', async (t) => {
  const { roost, url } = await start(t, { SHUTDOWN_TIMEOUT_MS: '300' });
  const { response } = await inFlightLogin(url);
  roost.child.kill('SIGTERM');
  t.equal(await roost.exited, 1);
  t.ok(roost.logs().some((line) => line.msg === 'in-flight requests did not finish within SHUTDOWN_TIMEOUT_MS: exiting now' && line.timeoutMs === 300), 'the timeout is logged');
  await t.rejects(response);
  held.length = 0;
});
