// The whole browser flow over real HTTP, under each protocol roost speaks
// with X: roost on the real Postgres and Redis, the sandbox X on its own
// port (checking every OAuth 1.0a signature, every PKCE verifier), tokens
// verified against the served JWKS with jose, the way a sibling service does.
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import t, { type Test } from 'tap';
import { decryptSecret } from '../../src/keys/crypto-box.js';
import { createTwitterClient } from '../../src/twitter/client.js';
import type { UpstreamProtocol } from '../../src/twitter/upstream.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent, signIn } from '../helpers/flow.js';
import { APP_ORIGIN, APP_RETURN_URLS, CLIENT_ID, CLIENT_SECRET, CONSUMER_KEY, CONSUMER_SECRET, PROTOCOLS, startRoost, type Roost } from '../helpers/roost.js';

/** Where /login sends the browser: X's page for the protocol, with what it needs first in the query. */
const startsAtX = (protocol: UpstreamProtocol, roost: Roost) =>
  protocol === 'oauth1' ? `${roost.providerUrl}/oauth/authenticate?oauth_token=` : `${roost.providerUrl}/i/oauth2/authorize?response_type=code&client_id=${CLIENT_ID}&`;
const startedAtX = (protocol: UpstreamProtocol) => (protocol === 'oauth1' ? /\/oauth\/authenticate\?oauth_token=/ : /\/i\/oauth2\/authorize\?response_type=code&/);

/**
 * What X's callback carries: the handle roost stored the flow under (the
 * 1.0a request token, or the 2.0 state roost sent X) and the grant (the
 * verifier, or the authorization code).
 */
function fromX(protocol: UpstreamProtocol, callbackUrl: string): { handle: string; grant: string } {
  const query = new URL(callbackUrl).searchParams;
  const [handle, grant] = protocol === 'oauth1' ? [query.get('oauth_token'), query.get('oauth_verifier')] : [query.get('state'), query.get('code')];
  if (!handle || !grant) throw new Error(`not an approval from X: ${callbackUrl}`);
  return { handle, grant };
}

/** Registered beside the app's URLs: a bare loopback origin, and a loopback URL with a path and query. */
const LOOPBACK_URLS = ['http://localhost', 'http://127.0.0.1/cb?app=1'];

for (const protocol of PROTOCOLS) {
  t.test(protocol, async (t) => {
    const roost = await startRoost(t, { protocol, env: { RETURN_TO_URLS: [...APP_RETURN_URLS, ...LOOPBACK_URLS].join(',') } });
    t.equal(roost.config.twitter.protocol, protocol);
    signInTests(t, protocol, roost);
  });
}

function signInTests(t: Test, protocol: UpstreamProtocol, roost: Roost) {
  const jwks = createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`));
  const verify = (token: string) => jwtVerify(token, jwks, { issuer: roost.url, algorithms: ['ES256'], typ: 'at+jwt' });

  t.test('sign-in ends at return_to with a token and the state in the fragment', async (t) => {
    const browser = new Browser();
    const appState = 'st&ate=1 #x';
    const { login, callbackUrl } = await consent(browser, roost, { returnTo: `${APP_ORIGIN}/callback?tab=2`, loginQuery: { state: appState } });
    t.equal(login.status, 302);
    t.match(login.location, startsAtX(protocol, roost));
    const toX = new URL(login.location as string).searchParams;
    t.notOk([...toX.values()].includes(appState), "the app's state is not sent to X");
    const setCookie = login.headers.get('set-cookie') ?? '';
    t.match(setCookie, /^roost_flow=[^;]+; Max-Age=600; Path=\/login; HttpOnly; SameSite=Lax$/);
    if (protocol === 'oauth1') {
      t.same([...toX.keys()], ['oauth_token']);
      t.match(callbackUrl, `${roost.url}/login/callback?oauth_token=${toX.get('oauth_token')}&oauth_verifier=`);
    } else {
      // RFC 6749 §4.1.1 with RFC 7636 §4.3: the callback exactly, and a state and an S256 challenge of roost's own.
      t.same([...toX.keys()], ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method']);
      t.equal(toX.get('redirect_uri'), roost.config.callbackUrl);
      t.equal(toX.get('code_challenge_method'), 'S256');
      t.match(toX.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
      t.match(toX.get('state'), /^[A-Za-z0-9_-]{43}$/, '32 random bytes, unguessable (RFC 6749 §10.12)');
      t.match(callbackUrl, `${roost.url}/login/callback?code=`);
      t.equal(fromX(protocol, callbackUrl).handle, toX.get('state'), 'X sends back the state roost sent');
    }

    const callback = await browser.get(callbackUrl);
    t.equal(callback.status, 302);
    t.equal(callback.headers.get('cache-control'), 'no-store');
    t.equal(callback.headers.get('referrer-policy'), 'no-referrer');
    t.match(callback.location, /^http:\/\/app\.test\/callback\?tab=2#access_token=/);
    const answer = fragmentOf(callback.location);
    t.equal(answer.get('token_type'), 'Bearer');
    t.equal(answer.get('state'), appState, 'the state comes back as sent, encoded in the fragment');
    t.equal(answer.get('expires_in'), '900');
    t.notOk(browser.cookies.has('roost_flow'), 'the flow cookie is cleared');

    const { payload, protectedHeader } = await verify(answer.get('access_token') as string);
    const alice = roost.users[0]!;
    t.same(protectedHeader, { alg: 'ES256', kid: protectedHeader.kid, typ: 'at+jwt' });
    t.match(payload, { iss: roost.url, screen_name: alice.screen_name, name: alice.name, twitter_id: alice.id_str, picture: alice.profile_image_url_https });
    t.match(payload.sub, /^[0-9a-f-]{36}$/);
    t.equal((payload.exp as number) - (payload.iat as number), 900);
    t.type(payload.jti, 'string');
    t.notOk('aud' in payload, 'no aud without JWT_AUDIENCE');

    const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${answer.get('access_token')}` } });
    t.equal(me.status, 200);
    const profile = (await me.json()) as Record<string, unknown>;
    t.match(profile, { id: payload.sub, twitter_id: alice.id_str, screen_name: alice.screen_name, name: alice.name, email: alice.email });
    t.notOk('twitter_token_sealed' in profile, 'no credentials in the profile');
  });

  t.test('Twitter credentials are stored encrypted', async (t) => {
    const bob = roost.users[1]!;
    const callback = await signIn(new Browser(), roost, { user: 1 });
    t.equal(callback.status, 302);
    const row = await roost.deps.db.selectFrom('users').selectAll().where('twitter_id', '=', bob.id_str).executeTakeFirstOrThrow();
    t.equal(row.twitter_protocol, protocol);
    t.match(row.twitter_token_sealed, /^v2\./);
    t.equal(row.email, bob.email);
    const token = decryptSecret(roost.deps.encryptionKeys, row.twitter_token_sealed, `twitter_token:${bob.id_str}`);
    if (protocol === 'oauth1') {
      t.match(row.twitter_token_secret_sealed, /^v2\./);
      const secret = decryptSecret(roost.deps.encryptionKeys, row.twitter_token_secret_sealed as string, `twitter_token_secret:${bob.id_str}`);
      const x = createTwitterClient({ apiUrl: roost.providerUrl, consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, timeoutMs: 2000 });
      t.match(await x.verifyCredentials({ token, secret }), { twitterId: bob.id_str }, "opened, they are X's live credentials for the user");
    } else {
      t.equal(row.twitter_token_secret_sealed, null, 'OAuth 2.0 has no token secret');
      const usersMe = await fetch(`${roost.providerUrl}/2/users/me`, { headers: { authorization: `Bearer ${token}` } });
      t.match(await usersMe.json(), { data: { id: bob.id_str } }, "opened, it is X's live access token for the user");
    }
  });

  t.test('cancel on the consent page sends access_denied back to the app, with the state', async (t) => {
    const { callbackUrl } = await consent(new Browser(), roost, { action: 'cancel' });
    t.match(callbackUrl, protocol === 'oauth1' ? /\/login\/callback\?denied=/ : /\/login\/callback\?error=access_denied&state=/, 'X says no in its own words');
    const callback = await signIn(new Browser(), roost, { action: 'cancel', loginQuery: { state: 'abc' } });
    t.equal(callback.status, 302);
    t.equal(callback.location, `${APP_ORIGIN}/signed-in#error=access_denied&error_description=The+user+did+not+authorize+the+app+at+X&state=abc`);
    const plain = await signIn(new Browser(), roost, { action: 'cancel' });
    t.equal(plain.location, `${APP_ORIGIN}/signed-in#error=access_denied&error_description=The+user+did+not+authorize+the+app+at+X`, 'no state given, none sent');
  });

  t.test('a bare loopback entry takes any port, in the fragment and the query, approved or cancelled', async (t) => {
    const approved = await signIn(new Browser(), roost, { returnTo: 'http://localhost:5174', loginQuery: { state: 's' } });
    t.equal(approved.status, 302, 'not refused by the redirect guard');
    t.match(approved.location, /^http:\/\/localhost:5174#access_token=[^&]+&token_type=Bearer&expires_in=900&refresh_token=[^&]+&state=s$/);
    const cancelled = await signIn(new Browser(), roost, { returnTo: 'http://localhost:8080', action: 'cancel' });
    t.match(cancelled.location, /^http:\/\/localhost:8080#error=access_denied&/);
    const code = await signIn(new Browser(), roost, {
      returnTo: 'http://127.0.0.1:9000/cb?app=1',
      loginQuery: { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'q' },
    });
    t.match(code.location, /^http:\/\/127\.0\.0\.1:9000\/cb\?app=1&code=[A-Za-z0-9_-]{43}&state=q$/, 'the registered string, byte for byte, then the answer');
  });

  t.test('a return_to that is not registered exactly is refused before Twitter is asked', async (t) => {
    for (const returnTo of [`${APP_ORIGIN}/signed-in/`, `${APP_ORIGIN}/signed-in?x=1`, `${APP_ORIGIN}/after`, `${APP_ORIGIN}/callback`, `${APP_ORIGIN}/callback?tab=2&x=1`]) {
      const login = await new Browser().get(`${roost.url}/login?return_to=${encodeURIComponent(returnTo)}`);
      t.equal(login.status, 400, returnTo);
      t.equal(login.location, null);
      t.match(JSON.parse(login.body), { code: 'return_to_not_allowed' }, returnTo);
    }
  });

  t.test('/login under another host name moves to PUBLIC_URL first, query and all, so the flow cookie lands where the callback reads it', async (t) => {
    const port = new URL(roost.url).port;
    const query = new URLSearchParams({ return_to: `${APP_ORIGIN}/signed-in`, state: 's' }).toString();
    const browser = new Browser();
    const moved = await browser.get(`http://localhost:${port}/login?${query}`);
    t.equal(moved.status, 302);
    t.equal(moved.location, `${roost.url}/login?${query}`);
    t.equal(browser.cookies.size, 0, 'no flow cookie on the other host name');
    // Through a proxy the Host may be the proxy's name for roost: moving would send the browser round the same proxy forever.
    for (const header of ['x-forwarded-host', 'x-forwarded-for', 'x-forwarded-proto', 'forwarded', 'via']) {
      const proxied = await new Browser({ [header]: header === 'x-forwarded-host' ? new URL(roost.url).host : 'proxy' }).get(`http://localhost:${port}/login?${query}`);
      t.match(proxied.location, startedAtX(protocol), `with ${header}, a request that came through a proxy is not moved`);
    }
    // Browsers leave a backslash in a query as it is; the move must not make it a Location the guard refuses.
    const slashed = await new Browser().get(`http://localhost:${port}/login?${query}\\x`);
    t.equal(slashed.status, 302);
    t.equal(slashed.location, `${roost.url}/login?${query}%5Cx`);
    const started = await browser.get(moved.location as string);
    t.match(started.location, startedAtX(protocol));
    t.ok(browser.cookies.has('roost_flow'));
  });

  t.test('a callback works once', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await consent(browser, roost);
    const cookies = new Map(browser.cookies);
    t.equal((await browser.get(callbackUrl)).status, 302);
    for (const [name, value] of cookies) browser.cookies.set(name, value);
    const replay = await browser.get(callbackUrl);
    t.equal(replay.status, 400);
    t.equal(replay.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.match(JSON.parse(replay.body), { code: 'flow_not_found', status: 400, type: 'urn:roost:problem:flow_not_found' });
    // A person's browser asks for HTML: it gets a page that says what happened, never raw JSON.
    const page = await browser.get(callbackUrl, { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' });
    t.equal(page.status, 400);
    t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    t.equal(page.headers.get('cache-control'), 'no-store');
    t.match(page.headers.get('content-security-policy'), /default-src 'none'/);
    t.match(page.body, /<h1>Sign-in did not finish<\/h1>/);
    t.match(page.body, /This sign-in is unknown, expired or already used; start again\./);
    t.match(page.body, /<code>flow_not_found<\/code>/);
    t.match(page.body, new RegExp(`<a href="${APP_ORIGIN}/">${APP_ORIGIN}</a>`), 'links back to the registered apps');
  });

  t.test('a callback from another browser is refused (login CSRF)', async (t) => {
    const victim = new Browser();
    const { callbackUrl } = await consent(new Browser(), roost);
    const answer = await victim.get(callbackUrl);
    t.equal(answer.status, 302, 'back to the app, which is known once the flow is');
    const fragment = fragmentOf(answer.location);
    t.equal(fragment.get('error'), 'access_denied');
    t.equal(fragment.get('error_description'), 'This sign-in was started in another browser or tab; start again here');
    t.equal(fragment.get('access_token'), null);
    t.equal((await victim.get(callbackUrl)).status, 400, 'the flow is spent all the same');
  });

  t.test('a callback from a browser with a different pending flow is refused', async (t) => {
    const attacker = new Browser();
    const { callbackUrl } = await consent(attacker, roost);
    const victim = new Browser();
    await victim.get(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
    t.ok(victim.cookies.has('roost_flow'));
    const answer = await victim.get(callbackUrl);
    t.equal(fragmentOf(answer.location).get('error'), 'access_denied');
    t.equal(fragmentOf(answer.location).get('access_token'), null);
  });

  t.test('a forged flow cookie is refused', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await consent(browser, roost);
    const [value] = [...browser.cookies.values()];
    browser.cookies.set('roost_flow', `x${value}`);
    const answer = await browser.get(callbackUrl);
    t.equal(fragmentOf(answer.location).get('error'), 'access_denied');
    t.equal(fragmentOf(answer.location).get('access_token'), null);
  });

  t.test('a renamed user keeps the same sub', async (t) => {
    const first = fragmentOf((await signIn(new Browser(), roost, { user: 2 })).location);
    const carol = roost.users[2]!;
    const before = { screen_name: carol.screen_name, name: carol.name };
    carol.screen_name = `${before.screen_name}_renamed`;
    carol.name = 'Renamed Carol';
    t.teardown(() => Object.assign(carol, before));
    const second = fragmentOf((await signIn(new Browser(), roost, { user: 2 })).location);
    const a = (await verify(first.get('access_token') as string)).payload;
    const b = (await verify(second.get('access_token') as string)).payload;
    t.equal(b.sub, a.sub);
    t.equal(b.screen_name, `${before.screen_name}_renamed`);
    t.equal(b.name, 'Renamed Carol');
    const count = await roost.deps.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).where('twitter_id', '=', carol.id_str).executeTakeFirstOrThrow();
    t.equal(Number(count.n), 1);
  });

  t.test('20 parallel sign-ins of one user leave one row', async (t) => {
    const callbacks = await Promise.all(Array.from({ length: 20 }, () => signIn(new Browser(), roost, { user: 0 })));
    t.same(callbacks.map((c) => c.status), Array(20).fill(302));
    const subs = new Set(await Promise.all(callbacks.map(async (c) => (await verify(fragmentOf(c.location).get('access_token') as string)).payload.sub)));
    t.equal(subs.size, 1);
    const rows = await roost.deps.db.selectFrom('users').select('id').where('twitter_id', '=', roost.users[0]!.id_str).execute();
    t.equal(rows.length, 1);
  });

  t.test('the discovery document points at the JWKS', async (t) => {
    const response = await fetch(`${roost.url}/.well-known/openid-configuration`);
    t.equal(response.status, 200);
    t.match(await response.json(), { issuer: roost.url, jwks_uri: `${roost.url}/.well-known/jwks.json` });
    const keys = await fetch(`${roost.url}/.well-known/jwks.json`);
    t.equal(keys.headers.get('cache-control'), 'public, max-age=300');
    const body = (await keys.json()) as { keys: Record<string, unknown>[] };
    t.equal(body.keys.length, 1);
    t.match(body.keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    t.notOk('d' in body.keys[0]!, 'no private member');
  });

  t.test('logs carry no token, verifier, code, cookie or secret', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await consent(browser, roost, { user: 1 });
    const { handle, grant } = fromX(protocol, callbackUrl);
    // What the flow store keeps until the callback: the request token secret (1.0a) or the PKCE code_verifier (2.0).
    const stored = await roost.deps.redis?.get(`flow:${createHash('sha256').update(handle).digest('base64url')}`);
    if (!stored) throw new Error('the flow is not in Redis under the hash of its handle');
    const flowSecret = (JSON.parse(stored) as { secret: string }).secret;
    const flowCookie = browser.cookies.get('roost_flow') as string;
    const callback = await browser.get(callbackUrl);
    const token = fragmentOf(callback.location).get('access_token') as string;
    t.ok(token, 'signed in');
    await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    const row = await roost.deps.db.selectFrom('users').selectAll().where('twitter_id', '=', roost.users[1]!.id_str).executeTakeFirstOrThrow();
    const xToken = decryptSecret(roost.deps.encryptionKeys, row.twitter_token_sealed, `twitter_token:${row.twitter_id}`);

    const secrets: Record<string, string> = {
      "roost's access token": token,
      'the flow cookie': flowCookie,
      'the cookie secret': roost.config.cookieSecret!,
      "X's access token": xToken,
      'a bearer token': 'Bearer ',
    };
    if (protocol === 'oauth1') {
      Object.assign(secrets, {
        'the request token': handle,
        'the verifier': grant,
        'the request token secret': flowSecret,
        'the consumer secret': CONSUMER_SECRET,
        "X's access token secret": decryptSecret(roost.deps.encryptionKeys, row.twitter_token_secret_sealed as string, `twitter_token_secret:${row.twitter_id}`),
      });
    } else {
      Object.assign(secrets, {
        'the state roost sent X': handle,
        'the authorization code': grant,
        'the code_verifier': flowSecret,
        'the client secret': CLIENT_SECRET,
        "the client's Basic credentials": Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
      });
    }
    const all = roost.rawLogs.join('\n');
    for (const [label, secret] of Object.entries(secrets)) t.notOk(all.includes(secret), `logs do not include ${label}`);
    t.ok(roost.logs.some((line) => line.path === '/login/callback' && line.status === 302), 'the callback request is logged, without its query');
  });
}
