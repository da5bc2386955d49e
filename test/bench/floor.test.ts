// The benchmark's floor must do the whole of each operation, or roost would
// be held to a floor that skips work: against the lean provider, the real
// Postgres (roost's schema, in a schema of this file's own) and the real
// Redis, its sign-ins end with tokens a sibling service accepts, its codes
// and refresh tokens work once, and it refuses what roost refuses.
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import t from 'tap';
import { createFloor } from '../../bench/floor.js';
import { runFlows } from '../../bench/flow-driver.js';
import { createLoadProvider } from '../../bench/load-provider.js';
import { runRefreshChains } from '../../bench/refresh-driver.js';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { createTestSchema, TEST_REDIS_URL } from '../helpers/roost.js';

const CONSUMER = { consumerKey: 'floor-key', consumerSecret: 'floor-secret' };
const RETURN_TO = 'http://app.test/signed-in';

const databaseUrl = await createTestSchema(t);
const db = await createDatabase({ databaseUrl, poolSize: 1, dataDir: '.data' });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const provider = createLoadProvider({ ...CONSUMER, latencyMs: 0, users: 3 });
await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => provider.close(() => resolve())));
const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;

const floor = await createFloor({ databaseUrl, redisUrl: TEST_REDIS_URL, providerUrl, ...CONSUMER, returnTo: RETURN_TO, poolSize: 2 });
await new Promise<void>((resolve) => floor.server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(floor.server.address() as AddressInfo).port}`;
floor.setPublicUrl(url);
t.teardown(async () => {
  floor.server.closeAllConnections();
  await new Promise<void>((resolve) => floor.server.close(() => resolve()));
  await floor.close();
});

const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
const verifyToken = async (token: string) => {
  const { payload } = await jwtVerify(token, jwks, { issuer: url, algorithms: ['ES256'], typ: 'at+jwt' });
  if (typeof payload.sid !== 'string' || typeof payload.twitter_id !== 'string') throw new Error('claims');
};
const flows = { serverUrl: url, providerUrl, returnTo: RETURN_TO, timeoutMs: 5000, verifyToken, concurrency: 1, durationMs: 10_000 };

t.test('a sign-in in either mode ends with tokens, a session and its user in the database', async (t) => {
  for (const mode of ['fragment', 'code'] as const) {
    const run = await runFlows({ ...flows, mode, flowsPerBrowser: 2 });
    t.same(run.errors, {}, mode);
    t.equal(run.samples.length, 2, mode);
    for (const sample of run.samples) {
      const claims = decodeJwt(sample.accessToken);
      const session = await db.selectFrom('sessions').selectAll().where('id', '=', claims.sid as string).executeTakeFirstOrThrow();
      t.equal(session.user_id, claims.sub, `${mode}: the session is the user's`);
      t.equal(session.refresh_hash, createHash('sha256').update(sample.refreshToken).digest('base64url'), `${mode}: it holds the refresh token's hash`);
    }
  }
});

t.test('refresh tokens chain, and a spent one is refused', async (t) => {
  const [first] = (await runFlows({ ...flows, flowsPerBrowser: 1 })).samples;
  const run = await runRefreshChains({ url, refreshTokens: [first!.refreshToken], durationMs: 10_000, refreshesPerChain: 3, timeoutMs: 5000, verifyToken });
  t.same(run.errors, {});
  t.equal(run.samples.length, 3);
  const sid = decodeJwt(first!.accessToken).sid as string;
  t.equal((await db.selectFrom('spent_refresh_tokens').select('hash').where('session_id', '=', sid).execute()).length, 3, 'each spent token kept');
  const again = await fetch(`${url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first!.refreshToken }) });
  t.equal(again.status, 400);
});

t.test('/me answers the user of a valid token, and refuses a forged one', async (t) => {
  const [first] = (await runFlows({ ...flows, flowsPerBrowser: 1 })).samples;
  const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${first!.accessToken}` } });
  t.equal(me.status, 200);
  t.match(await me.json(), { id: decodeJwt(first!.accessToken).sub, twitter_id: /^\d+$/ });
  const [header, payload] = first!.accessToken.split('.');
  const forged = `${header}.${payload}.${randomBytes(64).toString('base64url')}`;
  t.equal((await fetch(`${url}/me`, { headers: { authorization: `Bearer ${forged}` } })).status, 401);
});

/** A code-mode sign-in by hand, up to the code. */
async function codeFor(verifier: string): Promise<string> {
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const login = await fetch(`${url}/login?return_to=${encodeURIComponent(RETURN_TO)}&code_challenge=${challenge}&code_challenge_method=S256`, { redirect: 'manual' });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';', 1)[0] ?? '';
  const authenticate = await fetch(login.headers.get('location') ?? '', { redirect: 'manual' });
  const callback = await fetch(authenticate.headers.get('location') ?? '', { redirect: 'manual', headers: { cookie } });
  return new URL(callback.headers.get('location') ?? '').searchParams.get('code') ?? '';
}

const redeem = (code: string, verifier: string) =>
  fetch(`${url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: RETURN_TO }) });

t.test('a code works once, and not with the wrong verifier', async (t) => {
  const verifier = randomBytes(32).toString('base64url');
  const code = await codeFor(verifier);
  t.equal((await redeem(code, verifier)).status, 200);
  t.equal((await redeem(code, verifier)).status, 400, 'a replay');
  const other = await codeFor(verifier);
  t.equal((await redeem(other, 'a'.repeat(43))).status, 400, 'the wrong verifier');
  t.equal((await redeem(other, verifier)).status, 400, 'which spent the code');
});

t.test('an unregistered return_to, and a callback from another browser, are refused', async (t) => {
  t.equal((await fetch(`${url}/login?return_to=${encodeURIComponent('http://evil.test/')}`, { redirect: 'manual' })).status, 400);
  const login = await fetch(`${url}/login?return_to=${encodeURIComponent(RETURN_TO)}`, { redirect: 'manual' });
  const authenticate = await fetch(login.headers.get('location') ?? '', { redirect: 'manual' });
  const callback = await fetch(authenticate.headers.get('location') ?? '', { redirect: 'manual', headers: { cookie: 'roost_flow=another-browser' } });
  t.equal(callback.status, 400);
});
