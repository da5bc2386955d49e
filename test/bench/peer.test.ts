// The passport-twitter peer must do a whole sign-in, or roost would be set
// beside a peer that skips work: against the lean provider (which checks
// every signature), the real Postgres and the real Redis, the driver's
// sign-in ends with a token the peer's JWKS verifies, the user in its table
// and the session in Redis; it refuses what it should.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { createClient } from 'redis';
import t from 'tap';
import { runFlows } from '../../bench/flow-driver.js';
import { createLoadProvider, FIRST_USER_ID } from '../../bench/load-provider.js';
import { appRedirect, createPeer, PEER_COOKIE, peerClaims, userFromProfile } from '../../bench/peer.js';
import { tokenVerifier } from '../../bench/phases.js';
import { createTestSchema, TEST_REDIS_URL } from '../helpers/roost.js';

const CONSUMER = { consumerKey: 'peer-key', consumerSecret: 'peer-secret' };
const RETURN_TO = 'http://app.test/signed-in';

t.test('the pure parts: the user from passport-twitter’s profile, the claims, the redirect', async (t) => {
  const profile = { id: '42', username: 'ada', displayName: 'Ada', photos: [{ value: 'https://img.test/a.png' }], emails: [{ value: 'ada@example.com' }] };
  const user = userFromProfile(profile);
  t.same(user, { twitter_id: '42', screen_name: 'ada', name: 'Ada', picture: 'https://img.test/a.png', email: 'ada@example.com' });
  t.same(userFromProfile({ id: '7', username: 'bo', displayName: 'Bo' }), { twitter_id: '7', screen_name: 'bo', name: 'Bo', picture: null, email: null }, 'no photo, no email');
  t.same(peerClaims({ ...user, id: '1' }), { twitter_id: '42', screen_name: 'ada', name: 'Ada', picture: 'https://img.test/a.png', email: 'ada@example.com' });
  t.notOk('email' in peerClaims({ ...user, id: '1', email: null }), 'no email claim without an address');
  const location = new URL(appRedirect(RETURN_TO, 'a.b.c'));
  t.equal(`${location.origin}${location.pathname}`, RETURN_TO);
  t.same(Object.fromEntries(new URLSearchParams(location.hash.slice(1))), { access_token: 'a.b.c', token_type: 'Bearer', expires_in: '900' });
});

t.test('against the stand-in, the real Postgres and Redis', async (t) => {
  const databaseUrl = await createTestSchema(t);
  const provider = createLoadProvider({ ...CONSUMER, latencyMs: 0, users: 2 });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => provider.close(() => resolve())));
  const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  const sessionPrefix = `peer-test-${randomBytes(4).toString('hex')}:`;

  const start = async (consumerSecret: string) => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const peer = await createPeer({ databaseUrl, redisUrl: TEST_REDIS_URL, providerUrl, ...CONSUMER, consumerSecret, publicUrl: url, returnTo: RETURN_TO, poolSize: 2, sessionPrefix });
    server.on('request', peer.app);
    t.teardown(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await peer.close();
    });
    return url;
  };
  const url = await start(CONSUMER.consumerSecret);
  const flows = { serverUrl: url, providerUrl, returnTo: RETURN_TO, timeoutMs: 5000, verifyToken: tokenVerifier(url, 'peer'), concurrency: 1, durationMs: 10_000, cookie: PEER_COOKIE, refreshTokens: false };

  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  t.teardown(() => admin.end());
  const redis = createClient({ url: TEST_REDIS_URL });
  await redis.connect();
  t.teardown(async () => {
    for (const key of await redis.keys(`${sessionPrefix}*`)) await redis.del(key);
    await redis.close();
  });

  t.test('three sign-ins end with verified tokens, two users upserted and a session each in Redis', async (t) => {
    const run = await runFlows({ ...flows, flowsPerBrowser: 3 });
    t.same(run.errors, {});
    t.equal(run.samples.length, 3);
    const users = (await admin.query<{ id: string; twitter_id: string }>('select id::text, twitter_id from passport_users order by id')).rows;
    t.same(
      users.map((row) => row.twitter_id),
      [String(FIRST_USER_ID), String(FIRST_USER_ID + 1n)],
      'the third sign-in was the first user again',
    );
    for (const sample of run.samples) {
      t.equal(sample.refreshToken, '', 'the peer hands out no refresh token');
      t.equal(decodeProtectedHeader(sample.accessToken).alg, 'ES256');
      const claims = decodeJwt(sample.accessToken);
      t.equal(claims.iss, url);
      t.ok(users.some((row) => row.id === claims.sub), 'the subject is the upserted user');
    }
    const sessions = await redis.keys(`${sessionPrefix}*`);
    t.equal(sessions.length, 3, 'one logged-in session per sign-in');
    const stored = JSON.parse((await redis.get(sessions[0] as string)) ?? '{}') as { passport?: { user?: string }; returnTo?: string };
    t.ok(users.some((row) => row.id === stored.passport?.user), 'the session holds the user');
    t.equal(stored.returnTo, RETURN_TO);
  });

  t.test('an unregistered return_to is refused before Twitter is asked', async (t) => {
    const response = await fetch(`${url}/login?return_to=${encodeURIComponent('http://evil.test/')}`, { redirect: 'manual' });
    t.equal(response.status, 400);
    t.notOk(response.headers.get('set-cookie'), 'no session opened');
  });

  t.test('a callback without its session is refused: passport finds no request token', async (t) => {
    const response = await fetch(`${url}/login/callback?oauth_token=forged&oauth_verifier=forged`, { redirect: 'manual' });
    t.equal(response.status, 500);
    t.equal(response.headers.get('location'), null, 'no token goes anywhere');
  });

  t.test('a peer with the wrong consumer secret is refused by the stand-in', async (t) => {
    const forger = await start('not-the-secret');
    const run = await runFlows({ ...flows, serverUrl: forger, verifyToken: tokenVerifier(forger, 'peer'), flowsPerBrowser: 1 });
    t.equal(run.samples.length, 0);
    t.same(Object.keys(run.errors), ['login: HTTP 500']);
  });

  t.test('the driver refuses a token the peer did not issue', async (t) => {
    const strict = tokenVerifier(url, 'roost');
    const run = await runFlows({ ...flows, verifyToken: strict, flowsPerBrowser: 1 });
    t.equal(run.samples.length, 0);
    t.match(Object.keys(run.errors), [/^verify: /], 'a plain JWT is not an access token of roost’s kind');
  });
});
