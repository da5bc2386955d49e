// DELETE /me over real HTTP on the real Postgres and Redis: the profile,
// credentials and sessions go, the Twitter token is revoked at the sandbox
// Twitter (real OAuth 1.0a signatures), and a failing Twitter does not stop
// the deletion.
import { decodeJwt } from 'jose';
import t from 'tap';
import { decryptSecret } from '../../src/keys/crypto-box.js';
import { AppError } from '../../src/errors.js';
import { createTwitterClient } from '../../src/twitter/client.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { answer, hang, startFakeTwitter, WORKING } from '../helpers/fake-twitter.js';
import { APP_ORIGIN, CONSUMER_KEY, CONSUMER_SECRET, startRoost, type Roost } from '../helpers/roost.js';

const roost = await startRoost(t);

async function signedIn(user = 0) {
  const answer = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  const access = answer.get('access_token') as string;
  return { access_token: access, refresh_token: answer.get('refresh_token') as string, sub: decodeJwt(access).sub as string };
}

async function call(target: Roost, method: string, path: string, token?: string, form?: Record<string, string>) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(`${target.url}${path}`, { method, headers, ...(form ? { body: new URLSearchParams(form).toString() } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** The user's Twitter access token as roost stored it. */
async function storedTwitterToken(target: Roost, userId: string) {
  const row = await target.deps.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
  const key = target.deps.encryptionKey;
  return {
    token: decryptSecret(key, row.twitter_token_sealed, `twitter_token:${row.twitter_id}`),
    secret: decryptSecret(key, row.twitter_token_secret_sealed as string, `twitter_token_secret:${row.twitter_id}`),
  };
}

/** A client of roost's own for the sandbox, to see what X thinks of a stored token; its failures are collected. */
const twitterErrors: Array<{ endpoint: string; code: number | undefined }> = [];
const sandboxClient = createTwitterClient({
  apiUrl: roost.providerUrl,
  consumerKey: CONSUMER_KEY,
  consumerSecret: CONSUMER_SECRET,
  timeoutMs: 2000,
  onTwitterError: (event) => twitterErrors.push(event),
});

const count = async (table: 'users' | 'sessions', userId: string) =>
  (await roost.deps.db.selectFrom(table).select('id').where(table === 'users' ? 'id' : 'user_id', '=', userId).execute()).length;

t.test('DELETE /me deletes the user, credentials and sessions, and revokes the Twitter token', async (t) => {
  const first = await signedIn(0);
  const second = await signedIn(0);
  const bob = await signedIn(1);
  t.equal(second.sub, first.sub);
  const twitterToken = await storedTwitterToken(roost, first.sub);
  t.match(await sandboxClient.verifyCredentials(twitterToken), { screenName: roost.users[0]!.screen_name }, 'the Twitter token works before');
  t.equal(await count('sessions', first.sub), 2);

  const deleted = await call(roost, 'DELETE', '/me', first.access_token);
  t.equal(deleted.status, 204);
  t.equal(deleted.headers.get('cache-control'), 'no-store');

  t.equal(await count('users', first.sub), 0, 'profile and stored credentials gone');
  t.equal(await count('sessions', first.sub), 0, 'sessions gone');
  for (const token of [first.access_token, second.access_token]) {
    const me = await call(roost, 'GET', '/me', token);
    t.equal(me.status, 401, 'later access tokens are refused');
  }
  for (const refreshToken of [first.refresh_token, second.refresh_token]) {
    const refreshed = await call(roost, 'POST', '/token', undefined, { grant_type: 'refresh_token', refresh_token: refreshToken });
    t.equal(refreshed.status, 400, 'later refresh tokens are refused');
    t.match(refreshed.json(), { error: 'invalid_grant' });
  }
  t.equal((await call(roost, 'DELETE', '/me', second.access_token)).status, 401, 'deleting again is refused');

  const revoked = await sandboxClient.verifyCredentials(twitterToken).catch((error: unknown) => error);
  t.type(revoked, AppError);
  t.match((revoked as AppError).detail, /Twitter error 89/, 'Twitter now answers 89 for the revoked token');
  t.ok(twitterErrors.some((event) => event.code === 89));
  t.notOk(roost.logs.some((line) => line.msg === 'account deleted, but Twitter did not revoke its access token'), 'roost revoked it without trouble');

  t.equal((await call(roost, 'GET', '/me', bob.access_token)).status, 200, 'other users are untouched');

  const again = await signedIn(0);
  t.not(again.sub, first.sub, 'signing in again makes a new account');
  t.equal((await call(roost, 'GET', '/me', again.access_token)).status, 200, 'with a new Twitter token');
});

t.test('DELETE /me wants a live bearer token', async (t) => {
  const tokens = await signedIn(2);
  await call(roost, 'POST', '/logout', tokens.access_token);
  for (const [name, token] of [['no token', undefined], ['garbage', 'a.b.c'], ['an ended session', tokens.access_token]] as const) {
    const out = await call(roost, 'DELETE', '/me', token);
    t.equal(out.status, 401, name);
    t.match(out.headers.get('www-authenticate'), /error="invalid_token"/);
  }
  t.equal(await count('users', tokens.sub), 1, 'nothing deleted');
});

t.test('the sandbox refuses invalidate_token with a bad signature or an unknown token', async (t) => {
  const tokens = await signedIn(1);
  const twitterToken = await storedTwitterToken(roost, tokens.sub);
  const base = { apiUrl: roost.providerUrl, consumerKey: CONSUMER_KEY, timeoutMs: 1000 };
  const forged = createTwitterClient({ ...base, consumerSecret: 'wrong' });
  t.match(await forged.invalidateToken(twitterToken).catch((e: AppError) => e.detail), /Twitter error 32/);
  const client = createTwitterClient({ ...base, consumerSecret: CONSUMER_SECRET });
  t.match(await client.invalidateToken({ token: 'unknown', secret: 'x' }).catch((e: AppError) => e.detail), /Twitter error 89/);
  t.match(await client.verifyCredentials(twitterToken), { twitterId: roost.users[1]!.id_str }, 'the token survived both');
});

t.test('a failing or hanging Twitter does not stop the deletion', async (t) => {
  const twitter = await startFakeTwitter();
  t.teardown(() => twitter.close());
  const withFake = await startRoost(t, { providerUrl: twitter.url });
  for (const [name, behaviour] of [['HTTP 500', answer(500, 'oops')], ['a hang', hang]] as const) {
    twitter.behaviours.invalidate_token = behaviour;
    const browser = new Browser();
    await browser.get(`${withFake.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
    const callback = await browser.get(`${withFake.url}/login/callback?oauth_token=req-token&oauth_verifier=v`);
    const token = fragmentOf(callback.location).get('access_token') as string;
    const calls = twitter.calls.invalidate_token;
    const started = performance.now();
    const deleted = await call(withFake, 'DELETE', '/me', token);
    t.equal(deleted.status, 204, name);
    t.ok(performance.now() - started < 5000, `${name}: answered, bounded by TWITTER_TIMEOUT_MS`);
    t.equal(twitter.calls.invalidate_token, calls + 1, `${name}: the revocation was tried`);
    t.equal((await call(withFake, 'GET', '/me', token)).status, 401);
    t.ok(withFake.logs.some((line) => line.msg === 'account deleted, but Twitter did not revoke its access token'));
  }
  twitter.behaviours.invalidate_token = WORKING.invalidate_token;
  t.notOk(withFake.rawLogs.join('\n').includes('acc-secret'), 'the Twitter secret is never logged');
});

t.test('a code issued before the account was deleted is refused', async (t) => {
  const { createHash, randomBytes } = await import('node:crypto');
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const returnTo = `${APP_ORIGIN}/cb`;
  const callback = await signIn(new Browser(), roost, { user: 2, returnTo, loginQuery: { code_challenge: challenge, code_challenge_method: 'S256' } });
  const code = new URL(callback.location as string).searchParams.get('code') as string;
  const other = await signedIn(2);
  t.equal((await call(roost, 'DELETE', '/me', other.access_token)).status, 204);
  const redeemed = await call(roost, 'POST', '/token', undefined, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: returnTo });
  t.equal(redeemed.status, 400);
  t.match(redeemed.json(), { error: 'invalid_grant', detail: /no longer exists/ });
});
