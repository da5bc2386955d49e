// One account per person across protocols: a deployment that signed users
// in over OAuth 1.0a switches to OAuth 2.0 (a second roost on the same
// database and Redis, as a redeploy would be) and nobody gets a new account.
// Both talk to one sandbox X over real HTTP, with real signatures and PKCE.
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import t from 'tap';
import { decryptSecret } from '../../src/keys/crypto-box.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent, signIn } from '../helpers/flow.js';
import { startRoost, type Roost } from '../helpers/roost.js';

const secrets = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), COOKIE_SECRET: randomBytes(32).toString('hex') };
const redisKeyPrefix = `roost-test:${randomBytes(6).toString('hex')}:`;
const before = await startRoost(t, { protocol: 'oauth1', env: secrets, redisKeyPrefix });
/** The same deployment after the switch: started on the same port, database and Redis once `before` has stopped. */
let after: Roost;
const redeploy = async () => {
  await before.stop();
  return startRoost(t, {
    protocol: 'oauth2',
    port: new URL(before.url).port === '' ? undefined : Number(new URL(before.url).port),
    providerUrl: before.providerUrl,
    databaseUrl: before.config.databaseUrl as string,
    env: secrets,
    redisKeyPrefix,
  });
};

async function tokensOf(roost: Roost, user: number) {
  const callback = await signIn(new Browser(), roost, { user });
  t.equal(callback.status, 302);
  const fragment = fragmentOf(callback.location);
  const access = fragment.get('access_token');
  if (access === null) throw new Error(`no token: ${callback.location}`);
  return { access, refresh: fragment.get('refresh_token') as string, claims: decodeJwt(access) };
}

const storedProtocol = async (roost: Roost, sub: string) =>
  (await roost.deps.db.selectFrom('users').select('twitter_protocol').where('id', '=', sub).executeTakeFirstOrThrow()).twitter_protocol;

t.test('a user of OAuth 1.0a keeps sub, sessions and profile after the switch to OAuth 2.0', async (t) => {
  t.equal(before.config.twitter.protocol, 'oauth1');
  const old = await tokensOf(before, 0);
  t.equal(await storedProtocol(before, old.claims.sub as string), 'oauth1');
  // Started before the switch, finished after it: the deployment no longer speaks OAuth 1.0a.
  const pending = new Browser();
  const { callbackUrl: pendingCallback } = await consent(pending, before, { user: 2, loginQuery: { state: 'st' } });
  // The user who will delete their account after the switch signs in before it.
  const leaving = await tokensOf(before, 2);

  after = await redeploy();
  t.equal(after.url, before.url, 'the same PUBLIC_URL');
  t.equal(after.config.twitter.protocol, 'oauth2');

  const fresh = await tokensOf(after, 0);
  t.equal(fresh.claims.sub, old.claims.sub, 'the same roost user');
  t.equal(fresh.claims.twitter_id, old.claims.twitter_id);
  t.equal(await storedProtocol(after, fresh.claims.sub as string), 'oauth2', 'the stored credentials are the OAuth 2.0 ones now');
  const users = await after.deps.db.selectFrom('users').select('id').where('twitter_id', '=', old.claims.twitter_id as string).execute();
  t.equal(users.length, 1, 'one row for the person');

  // The session opened over 1.0a lives on: its refresh token works at the new deployment.
  const refreshed = await fetch(`${after.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: old.refresh }),
  });
  t.equal(refreshed.status, 200);
  const me = await fetch(`${after.url}/me`, { headers: { authorization: `Bearer ${old.access}` } });
  t.equal(me.status, 200);
  t.match(await me.json(), { id: old.claims.sub, screen_name: before.users[0]!.screen_name });

  const answer = await pending.get(pendingCallback);
  t.equal(answer.status, 302);
  const fragment = fragmentOf(answer.location);
  t.equal(fragment.get('error'), 'access_denied', 'a sign-in begun over OAuth 1.0a goes back to the app');
  t.match(fragment.get('error_description'), /start again/);
  t.equal(fragment.get('state'), 'st');

  // An account whose stored token is of the other protocol is still deleted; the revocation it cannot do is logged.
  const deleted = await fetch(`${after.url}/me`, { method: 'DELETE', headers: { authorization: `Bearer ${leaving.access}` } });
  t.equal(deleted.status, 204);
  t.ok(after.logs.some((line) => line.msg === 'account deleted, but Twitter did not revoke its access token'));
});

t.test('deleting the account revokes the OAuth 2.0 token at X', async (t) => {
  const logged = after.logs.length;
  const { access, claims } = await tokensOf(after, 1);
  const row = await after.deps.db.selectFrom('users').selectAll().where('id', '=', claims.sub as string).executeTakeFirstOrThrow();
  const xToken = decryptSecret(after.deps.encryptionKeys, row.twitter_token_sealed, `twitter_token:${row.twitter_id}`);
  const usersMe = () => fetch(`${after.providerUrl}/2/users/me`, { headers: { authorization: `Bearer ${xToken}` } });
  t.equal((await usersMe()).status, 200, 'the stored OAuth 2.0 token works at X before');
  const deleted = await fetch(`${after.url}/me`, { method: 'DELETE', headers: { authorization: `Bearer ${access}` } });
  t.equal(deleted.status, 204);
  t.equal((await usersMe()).status, 401, 'and not after');
  t.notOk(after.logs.slice(logged).some((line) => line.msg === 'account deleted, but Twitter did not revoke its access token'), 'revoked without trouble');
});


t.test('an answer in the other protocol’s parameters goes back to the app refused; a HEAD never runs the sign-in', async (t) => {
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, after, { loginQuery: { state: 'st' } });
  const answer = new URL(callbackUrl);
  const state = answer.searchParams.get('state') as string;
  const code = answer.searchParams.get('code') as string;
  const disguised = await browser.get(`${after.url}/login/callback?oauth_token=${encodeURIComponent(state)}&oauth_verifier=${encodeURIComponent(code)}`);
  t.equal(disguised.status, 302);
  const fragment = fragmentOf(disguised.location);
  t.equal(fragment.get('error'), 'access_denied');
  t.match(fragment.get('error_description'), /oauth1 parameters, but the sign-in began over oauth2/);
  t.equal(fragment.get('state'), 'st');
  t.notOk(fragment.has('access_token'));

  const next = new Browser();
  const { callbackUrl: nextCallback } = await consent(next, after, {});
  const head = await next.request(nextCallback, { method: 'HEAD' });
  t.ok(head.status >= 400, `HEAD is refused (${head.status})`);
  const real = await next.get(nextCallback);
  t.equal(real.status, 302);
  t.ok(fragmentOf(real.location).has('access_token'), 'the flow was still there for the real callback');
});
