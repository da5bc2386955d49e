// The OpenID Connect provider driven by openid-client, the certified Node
// relying-party library, through the sandbox X over real HTTP: discovery,
// the code flow with PKCE for a public client, confidential clients with
// each way to authenticate, ID token checks (signature, iss, aud, nonce,
// at_hash), UserInfo, refresh, single sign-on and RP-initiated logout.
import t from 'tap';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startRoost, type Roost } from '../helpers/roost.js';
import { Browser, fragmentOf, readConsentForm } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';

const RP = 'https://rp.test';
const SECRET_BASIC = 'basic-client-secret-0123456789abcdef';
const SECRET_POST = 'post-client-secret-0123456789abcdefgh';
const CLIENTS = [
  { client_id: 'web-basic', client_secret: SECRET_BASIC, redirect_uris: [`${RP}/cb`], post_logout_redirect_uris: [`${RP}/bye`], token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'web-post', client_secret: SECRET_POST, redirect_uris: [`${RP}/cb`], token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256' },
  { client_id: 'spa', redirect_uris: [`${RP}/spa`, 'http://127.0.0.1/native'], post_logout_redirect_uris: [`${RP}/bye`], id_token_signed_response_alg: 'EdDSA' },
];

/** Follows /authorize through the sandbox's consent page, as the person's browser; returns where roost finally sends the browser. */
async function authorize(browser: Browser, roost: Roost, url: URL, user = 0): Promise<URL> {
  const first = await browser.get(url.href);
  if (first.status !== 302 || !first.location) throw new Error(`/authorize answered ${first.status}: ${first.body}`);
  // Single sign-on: straight back to the client.
  if (!first.location.startsWith(roost.providerUrl)) return new URL(first.location);
  const page = await browser.get(first.location);
  const form = readConsentForm(page.body);
  const decision = await browser.postForm(new URL(form.action ?? '', first.location).href, { ...form.hidden, user_id: roost.users[user]?.id_str as string, action: 'approve' });
  const back = await browser.get(decision.location as string);
  if (back.status !== 302 || !back.location) throw new Error(`the callback answered ${back.status}: ${back.body} ${roost.rawLogs.filter((line) => line.includes('"level":50') || line.includes('"err"')).join('\n')}`);
  return new URL(back.location);
}

async function discover(roost: Roost, clientId: string, auth: oidc.ClientAuth, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(roost.url), clientId, secret, auth, { execute: [oidc.allowInsecureRequests] });
}

function atHash(accessToken: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

t.test('openid-client signs in through roost with every kind of client', async (t) => {
  // At trace level: nothing secret may reach the log of these flows.
  const roost = await startRoost(t, { env: { OIDC_CLIENTS: JSON.stringify(CLIENTS), LOG_LEVEL: 'trace' } });
  const secrets = new Set<string>([SECRET_BASIC, SECRET_POST]);
  const jwks = createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`));

  await t.test('discovery describes the provider', async (t) => {
    const config = await discover(roost, 'web-basic', oidc.ClientSecretBasic(SECRET_BASIC), SECRET_BASIC);
    const metadata = config.serverMetadata();
    t.equal(metadata.issuer, roost.config.publicUrl);
    t.equal(metadata.authorization_endpoint, `${roost.url}/authorize`);
    t.equal(metadata.userinfo_endpoint, `${roost.url}/userinfo`);
    t.equal(metadata.end_session_endpoint, `${roost.url}/end_session`);
    t.same(metadata.id_token_signing_alg_values_supported, ['RS256', 'ES256', 'EdDSA']);
    t.equal(metadata.authorization_response_iss_parameter_supported, true);
    const keys = (await (await fetch(`${roost.url}/.well-known/jwks.json`)).json()) as { keys: { alg: string }[] };
    t.same(new Set(keys.keys.map((key) => key.alg)), new Set(['ES256', 'RS256', 'EdDSA']), 'a key of every algorithm is published');
  });

  await t.test('a confidential client with client_secret_basic: code + PKCE, nonce, at_hash, UserInfo, refresh, logout', async (t) => {
    const config = await discover(roost, 'web-basic', oidc.ClientSecretBasic(SECRET_BASIC), SECRET_BASIC);
    const browser = new Browser();
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${RP}/cb`,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
    });
    const back = await authorize(browser, roost, url);
    t.equal(back.origin + back.pathname, `${RP}/cb`);
    t.equal(back.searchParams.get('iss'), roost.config.publicUrl, 'RFC 9207 iss');
    t.ok([...browser.cookies.keys()].includes('roost_sso'), 'the browser keeps a session at roost');
    const tokens = await oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
    const claims = tokens.claims();
    if (!claims) throw new Error('no ID token');
    for (const value of [tokens.access_token, tokens.id_token, tokens.refresh_token, back.searchParams.get('code'), browser.cookies.get('roost_sso')]) if (value) secrets.add(value);
    t.equal(claims.aud, 'web-basic');
    t.equal(claims.nonce, nonce);
    t.equal(claims.preferred_username, roost.users[0]?.screen_name);
    t.equal(decodeProtectedHeader(tokens.id_token as string).alg, 'RS256', 'RS256 unless the client asks otherwise');
    t.equal(claims.at_hash, atHash(tokens.access_token, 'RS256'));
    t.type(claims.auth_time, 'number');
    t.type(claims.sid, 'string');
    t.equal(tokens.scope, 'openid profile email offline_access');
    t.type(tokens.refresh_token, 'string', 'offline_access grants a refresh token');
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: roost.config.publicUrl, audience: `${roost.config.publicUrl}/userinfo`, typ: 'at+jwt' });
    t.equal(access.payload.client_id, 'web-basic');
    t.equal(access.payload.scope, 'openid profile email offline_access');

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    t.equal(info.sub, claims.sub);
    t.equal(info.preferred_username, roost.users[0]?.screen_name);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    const again = refreshed.claims();
    t.equal(again?.sub, claims.sub);
    t.equal(again?.auth_time, claims.auth_time, 'auth_time stays the time of the sign-in');
    t.notOk(again?.nonce, 'no nonce in a refreshed ID token');
    t.not(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
    const later = await oidc.refreshTokenGrant(config, refreshed.refresh_token as string);
    t.type(later.id_token, 'string');

    // Another client cannot use it, with or without its own credentials.
    const post = await discover(roost, 'web-post', oidc.ClientSecretPost(SECRET_POST), SECRET_POST);
    const stolen = await oidc.refreshTokenGrant(post, later.refresh_token as string).catch((error: unknown) => error);
    t.equal((stolen as { error?: string }).error, 'invalid_grant', 'a refresh token works only for its client');
    const bare = await fetch(`${roost.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: later.refresh_token as string }) });
    t.equal(bare.status, 400, 'nor without client authentication');

    // An old token again: reuse, and the session ends for both holders (RFC 9700 §4.14.2).
    const reused = await oidc.refreshTokenGrant(config, tokens.refresh_token as string).catch((error: unknown) => error);
    t.equal((reused as { error?: string }).error, 'invalid_grant', 'a spent refresh token is refused');
    const after = await oidc.refreshTokenGrant(config, later.refresh_token as string).catch((error: unknown) => error);
    t.equal((after as { error?: string }).error, 'invalid_grant', 'and the live one of its session with it');

    // The person's own session list names the browser session and the client's.
    const own = fragmentOf((await signIn(new Browser(), roost)).location);
    const listed = (await (await fetch(`${roost.url}/sessions`, { headers: { authorization: `Bearer ${own.get('access_token') as string}` } })).json()) as { sessions: { kind: string; client_id: string | null }[] };
    t.ok(listed.sessions.some((session) => session.kind === 'browser' && session.client_id === null), 'the browser session is listed');
    t.ok(listed.sessions.some((session) => session.kind === 'app' && session.client_id === null), 'beside the app’s own');
    t.notOk(listed.sessions.some((session) => session.kind === 'oidc' && session.client_id === 'web-basic'), 'the client session ended by reuse is not');
    const notOwn = await fetch(`${roost.url}/sessions`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    t.equal(notOwn.status, 401, 'a client’s access token is not good at roost’s own routes');

    const logout = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: `${RP}/bye`, state: 'bye-state' });
    const ended = await browser.get(logout.href);
    t.equal(ended.status, 302);
    t.equal(ended.location, `${RP}/bye?state=bye-state`);
    t.notOk(browser.cookies.has('roost_sso'), 'the browser session cookie is cleared');
  });

  await t.test('client_secret_post, an ES256 ID token, single sign-on and prompt', async (t) => {
    const config = await discover(roost, 'web-post', oidc.ClientSecretPost(SECRET_POST), SECRET_POST);
    const browser = new Browser();
    const noSession = await browser.get(oidc.buildAuthorizationUrl(config, { redirect_uri: `${RP}/cb`, scope: 'openid', prompt: 'none', state: 's1' }).href);
    const refused = new URL(noSession.location as string);
    t.equal(refused.searchParams.get('error'), 'login_required', 'prompt=none without a session');
    t.equal(refused.searchParams.get('state'), 's1');

    const first = await authorize(browser, roost, oidc.buildAuthorizationUrl(config, { redirect_uri: `${RP}/cb`, scope: 'openid profile', nonce: 'n1' }));
    const firstTokens = await oidc.authorizationCodeGrant(config, first, { expectedNonce: 'n1', idTokenExpected: true });
    t.equal(decodeProtectedHeader(firstTokens.id_token as string).alg, 'ES256');
    t.notOk(firstTokens.refresh_token, 'no refresh token without offline_access');

    // The same browser, another client: no trip to X.
    const spa = await discover(roost, 'spa', oidc.None());
    const verifier = oidc.randomPKCECodeVerifier();
    const silent = await browser.get(
      oidc.buildAuthorizationUrl(spa, { redirect_uri: `${RP}/spa`, scope: 'openid', prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).href,
    );
    t.equal(new URL(silent.location as string).origin, RP, 'prompt=none with a session answers at once');
    const spaTokens = await oidc.authorizationCodeGrant(spa, new URL(silent.location as string), { pkceCodeVerifier: verifier, idTokenExpected: true });
    t.equal(decodeProtectedHeader(spaTokens.id_token as string).alg, 'EdDSA');
    t.equal(spaTokens.claims()?.sub, firstTokens.claims()?.sub);
    t.equal(spaTokens.claims()?.auth_time, firstTokens.claims()?.auth_time, 'auth_time is the X sign-in');
    t.equal(spaTokens.claims()?.at_hash, atHash(spaTokens.access_token, 'EdDSA'));

    const forced = await browser.get(oidc.buildAuthorizationUrl(config, { redirect_uri: `${RP}/cb`, scope: 'openid', prompt: 'login' }).href);
    t.ok(forced.location?.startsWith(roost.providerUrl), 'prompt=login goes to X again');
    const maxAge = await browser.get(oidc.buildAuthorizationUrl(config, { redirect_uri: `${RP}/cb`, scope: 'openid', max_age: '0', prompt: 'none' }).href);
    t.equal(new URL(maxAge.location as string).searchParams.get('error'), 'login_required', 'max_age=0 with prompt=none');

    const own = fragmentOf((await signIn(new Browser(), roost)).location);
    const listed = (await (await fetch(`${roost.url}/sessions`, { headers: { authorization: `Bearer ${own.get('access_token') as string}` } })).json()) as { sessions: { kind: string; client_id: string | null }[] };
    t.same(listed.sessions.filter((session) => session.kind === 'oidc').map((session) => session.client_id).sort(), ['spa', 'web-post'], 'each client’s session is listed with its client');

    // Logging out of one client ends the browser session and every session it opened.
    t.equal((await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${firstTokens.access_token}` } })).status, 200);
    // The same person signs in at X again (prompt=login): the sessions of the old browser session move to the new one.
    const renewed = await authorize(browser, roost, oidc.buildAuthorizationUrl(config, { redirect_uri: `${RP}/cb`, scope: 'openid', prompt: 'login', nonce: 'n2' }));
    const renewedTokens = await oidc.authorizationCodeGrant(config, renewed, { expectedNonce: 'n2', idTokenExpected: true });
    t.ok((renewedTokens.claims()?.auth_time ?? 0) >= (firstTokens.claims()?.auth_time ?? 0), 'a new auth_time');
    const logout = await browser.get(oidc.buildEndSessionUrl(config, { id_token_hint: renewedTokens.id_token as string }).href);
    t.equal(logout.status, 200, 'without a post_logout_redirect_uri, the signed-out page');
    t.match(logout.body, /Signed out/);
    for (const token of [firstTokens.access_token, spaTokens.access_token, renewedTokens.access_token]) {
      const answer = await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
      t.equal(answer.status, 401, 'an access token of a session the logout ended is refused');
      t.match(answer.headers.get('www-authenticate'), /^Bearer realm="roost", error="invalid_token"/);
    }
    const afterLogout = await browser.get(oidc.buildAuthorizationUrl(config, { redirect_uri: `${RP}/cb`, scope: 'openid', prompt: 'none' }).href);
    t.equal(new URL(afterLogout.location as string).searchParams.get('error'), 'login_required', 'no browser session after the logout');
  });

  await t.test('the specified errors, each where the standard puts it', async (t) => {
    const browser = new Browser();
    const page = { accept: 'text/html' };
    const unknown = await browser.get(`${roost.url}/authorize?client_id=nobody&redirect_uri=${encodeURIComponent(`${RP}/cb`)}&response_type=code&scope=openid`, page);
    t.equal(unknown.status, 400, 'an unknown client_id gets a page');
    t.equal(unknown.location, null, 'and is never redirected');
    t.match(unknown.headers.get('content-type'), /^text\/html/);
    const elsewhere = await browser.get(`${roost.url}/authorize?client_id=web-basic&redirect_uri=${encodeURIComponent('https://evil.test/cb')}&response_type=code&scope=openid`, page);
    t.equal(elsewhere.status, 400, 'an unregistered redirect_uri gets a page');
    t.equal(elsewhere.location, null);

    const redirected = async (query: Record<string, string>) => {
      const hop = await browser.get(`${roost.url}/authorize?${new URLSearchParams(query)}`);
      t.equal(hop.status, 302);
      const to = new URL(hop.location as string);
      t.equal(to.searchParams.get('iss'), roost.config.publicUrl, 'every error carries iss');
      return to.searchParams;
    };
    const noPkce = await redirected({ client_id: 'spa', redirect_uri: `${RP}/spa`, response_type: 'code', scope: 'openid', state: 'st' });
    t.equal(noPkce.get('error'), 'invalid_request', 'a public client without PKCE');
    t.equal(noPkce.get('state'), 'st');
    t.equal((await redirected({ client_id: 'web-basic', redirect_uri: `${RP}/cb`, response_type: 'token', scope: 'openid' })).get('error'), 'unsupported_response_type');
    t.ok((await redirected({ client_id: 'web-basic', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'profile' })).get('error'), 'a scope without openid');
    const json = await fetch(`${roost.url}/authorize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":"web-basic"}' });
    t.equal(json.status, 415, 'POST /authorize takes a form');

    // A code, then everything that must not redeem it.
    const basic = await discover(roost, 'web-basic', oidc.ClientSecretBasic(SECRET_BASIC), SECRET_BASIC);
    const wrongBasic = await discover(roost, 'web-basic', oidc.ClientSecretBasic('wrong-secret-0123456789abcdefghijkl'), 'wrong-secret-0123456789abcdefghijkl');
    const post = await discover(roost, 'web-post', oidc.ClientSecretPost(SECRET_POST), SECRET_POST);
    const spa = await discover(roost, 'spa', oidc.None());
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = { code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' };
    const back = await authorize(browser, roost, oidc.buildAuthorizationUrl(basic, { redirect_uri: `${RP}/cb`, scope: 'openid', ...challenge }));
    const code = back.searchParams.get('code') as string;
    secrets.add(code);
    const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${roost.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });
    const basicHeader = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

    const wrong = await token({ grant_type: 'authorization_code', code, redirect_uri: `${RP}/cb`, code_verifier: verifier }, basicHeader('web-basic', 'not-the-secret-0123456789abcdefghij'));
    t.equal(wrong.status, 401, 'a wrong secret over Basic is 401');
    t.match(wrong.headers.get('www-authenticate'), /^Basic realm="roost"/);
    t.match(wrong.headers.get('content-type'), /^application\/json/, 'RFC 6749 §5.2 errors are application/json');
    t.match(await wrong.json(), { error: 'invalid_client', error_description: /secret/ });
    const viaLibrary = await oidc.authorizationCodeGrant(wrongBasic, back, { pkceCodeVerifier: verifier }).catch((error: unknown) => error);
    t.match(viaLibrary, { status: 401, code: 'OAUTH_WWW_AUTHENTICATE_CHALLENGE' }, 'openid-client meets the Basic challenge');
    const viaPost = await token({ grant_type: 'authorization_code', code, redirect_uri: `${RP}/cb`, code_verifier: verifier, client_id: 'web-post', client_secret: 'wrong-secret-0123456789abcdefghijkl' });
    t.equal(viaPost.status, 400, 'a wrong secret in the body is 400');
    t.match(await viaPost.json(), { error: 'invalid_client' });
    const noVerifier = await token({ grant_type: 'authorization_code', code, redirect_uri: `${RP}/cb`, client_id: 'spa' });
    t.match(await noVerifier.json(), { error: 'invalid_request' }, 'a public client without code_verifier, before the code is spent');
    const otherRedirect = await token({ grant_type: 'authorization_code', code, redirect_uri: `${RP}/other`, code_verifier: verifier }, basicHeader('web-basic', SECRET_BASIC));
    t.match(await otherRedirect.json(), { error: 'invalid_grant' }, 'a redirect_uri other than the request’s spends the code');

    // A fresh code: another client cannot redeem it; the right one can, once; a replay ends what it opened.
    const again = await authorize(browser, roost, oidc.buildAuthorizationUrl(basic, { redirect_uri: `${RP}/cb`, scope: 'openid', ...challenge }));
    const stolen = await token({ grant_type: 'authorization_code', code: again.searchParams.get('code') as string, redirect_uri: `${RP}/cb`, code_verifier: verifier, client_id: 'web-post', client_secret: SECRET_POST });
    t.match(await stolen.json(), { error: 'invalid_grant' }, 'another client cannot redeem a code');
    const unauthenticated = await token({ grant_type: 'authorization_code', code: again.searchParams.get('code') as string, redirect_uri: `${RP}/cb`, code_verifier: verifier });
    t.match(await unauthenticated.json(), { error: 'invalid_grant' }, 'nor a request without client authentication');
    const tokens = await oidc.authorizationCodeGrant(basic, again, { pkceCodeVerifier: verifier });
    t.type(tokens.id_token, 'string', 'neither spent it: its client still can');
    secrets.add(tokens.access_token);
    const replay = await oidc.authorizationCodeGrant(basic, again, { pkceCodeVerifier: verifier }).catch((error: unknown) => error);
    t.equal((replay as { error?: string }).error, 'invalid_grant', 'a replayed code');
    t.equal((await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401, 'ends the session its first redemption opened');
    const publicAsConfidential = await token({ grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: `${RP}/spa`, code_verifier: verifier, client_id: 'spa', client_secret: 'a-secret-for-a-public-client-000000' });
    t.match(await publicAsConfidential.json(), { error: 'invalid_client' }, 'a public client has no secret');

    // UserInfo: RFC 6750 §3.
    const none = await fetch(`${roost.url}/userinfo`);
    t.equal(none.status, 401);
    t.equal(none.headers.get('www-authenticate'), 'Bearer realm="roost"', 'no token: the challenge without an error code');
    const malformed = await fetch(`${roost.url}/userinfo`, { headers: { authorization: 'Basic abc' } });
    t.equal(malformed.status, 400);
    t.match(malformed.headers.get('www-authenticate'), /error="invalid_request"/);
    const own = await browser.get(`${roost.url}/login?return_to=${encodeURIComponent('http://app.test/signed-in')}`);
    t.equal(own.status, 302, '/login?return_to= works beside the provider');
    const idAsAccess = await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.id_token as string}` } });
    t.equal(idAsAccess.status, 401, 'an ID token is no access token');
    t.match(idAsAccess.headers.get('www-authenticate'), /error="invalid_token"/);

    // RP-initiated logout: a forged hint, an unregistered destination, and the question without a hint.
    const forged = await browser.get(`${roost.url}/end_session?id_token_hint=${(tokens.id_token as string).slice(0, -4)}AAAA`, page);
    t.equal(forged.status, 400, 'a hint roost did not sign gets a page');
    t.equal(forged.location, null);
    const offList = await browser.get(`${roost.url}/end_session?client_id=web-basic&post_logout_redirect_uri=${encodeURIComponent('https://evil.test/')}`, page);
    t.equal(offList.status, 400, 'an unregistered post_logout_redirect_uri gets a page');
    t.ok(browser.cookies.has('roost_sso'));
    const ask = await browser.get(`${roost.url}/end_session?client_id=web-basic&post_logout_redirect_uri=${encodeURIComponent(`${RP}/bye`)}&state=q`);
    t.equal(ask.status, 200, 'without a hint the person is asked');
    t.match(ask.body, /<form method="post"/);
    t.ok(browser.cookies.has('roost_sso'), 'and nothing has ended yet');
    const confirmed = await browser.postForm(`${roost.url}/end_session`, { client_id: 'web-basic', post_logout_redirect_uri: `${RP}/bye`, state: 'q', confirm: 'yes' });
    t.equal(confirmed.location, `${RP}/bye?state=q`);
    t.notOk(browser.cookies.has('roost_sso'), 'the confirmed logout ends the browser session');
  });

  await t.test('nothing secret reaches the trace log', async (t) => {
    const log = roost.rawLogs.join('\n');
    t.equal(roost.config.logLevel, 'trace');
    t.ok(roost.rawLogs.length > 50, 'every request of these flows was logged');
    for (const secret of secrets) t.notOk(log.includes(secret), `a secret of ${secret.length} characters is not in the log`);
    t.notOk(/authorization|cookie/i.test(log.replace(/"(authorization_endpoint|msg)":"[^"]*"/g, '')), 'no Authorization header or cookie');
  });
});
