// The authorization-code mode with PKCE over real HTTP on the real Postgres
// and Redis: /login with a challenge, the callback's code in return_to's
// query, and its redemption at POST /token with every way to get it wrong.
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import t from 'tap';
import { Browser } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, APP_RETURN_URLS, startRoost } from '../helpers/roost.js';
import { loadOpenApi } from '../../src/contract/openapi.js';
import { returnToMaxLength } from '../../src/sign-in/return-to.js';

let clock = Date.now();
// Registered besides the usual ones: entries that already carry roost's answer parameters, and one at the length limit.
const LONGEST = `${APP_ORIGIN}/cb?x=`.padEnd(returnToMaxLength(loadOpenApi()), 'a');
const roost = await startRoost(t, { now: () => clock, env: { RETURN_TO_URLS: [...APP_RETURN_URLS, `${APP_ORIGIN}/cb?code=1`, `${APP_ORIGIN}/cb?state=1`, LONGEST].join(',') } });
const jwks = createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`));
const RETURN_TO = `${APP_ORIGIN}/callback?tab=2`;

t.beforeEach(() => {
  clock = Date.now();
});

function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function codeSignIn(options: { returnTo?: string; state?: string; action?: 'approve' | 'cancel' } = {}) {
  const pair = pkcePair();
  const loginQuery: Record<string, string> = { code_challenge: pair.challenge, code_challenge_method: 'S256' };
  if (options.state !== undefined) loginQuery.state = options.state;
  const callback = await signIn(new Browser(), roost, { returnTo: options.returnTo ?? RETURN_TO, loginQuery, ...(options.action ? { action: options.action } : {}) });
  return { ...pair, callback, location: new URL(callback.location ?? 'http://missing/') };
}

async function redeem(fields: Record<string, string>, as: 'form' | 'json' = 'form') {
  const response = await fetch(`${roost.url}/token`, {
    method: 'POST',
    headers: { 'content-type': as === 'form' ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: as === 'form' ? new URLSearchParams({ grant_type: 'authorization_code', ...fields }).toString() : JSON.stringify({ grant_type: 'authorization_code', ...fields }),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

t.test('the callback sends a code and the state in return_to query, then /token issues the session', async (t) => {
  const { verifier, callback, location } = await codeSignIn({ state: 'xyz 1/2' });
  t.equal(callback.status, 302);
  t.equal(callback.headers.get('cache-control'), 'no-store');
  t.equal(callback.headers.get('referrer-policy'), 'no-referrer');
  t.equal(`${location.origin}${location.pathname}`, `${APP_ORIGIN}/callback`);
  t.equal(location.hash, '', 'nothing in the fragment');
  t.same([...location.searchParams.keys()], ['tab', 'code', 'state'], 'the existing query is kept, the answer appended');
  t.equal(location.searchParams.get('tab'), '2');
  t.equal(location.searchParams.get('state'), 'xyz 1/2');
  const code = location.searchParams.get('code') as string;
  t.match(code, /^[A-Za-z0-9_-]{43}$/);

  const answer = await redeem({ code, code_verifier: verifier, redirect_uri: RETURN_TO, client_id: 'my-spa' }, 'json');
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('cache-control'), 'no-store');
  t.equal(answer.headers.get('pragma'), 'no-cache');
  t.match(answer.json, { token_type: 'Bearer', expires_in: 900, refresh_token: /^[A-Za-z0-9_-]{43}$/ });
  const { payload } = await jwtVerify(answer.json.access_token as string, jwks, { issuer: roost.url, algorithms: ['ES256'], typ: 'at+jwt' });
  t.match(payload, { screen_name: roost.users[0]!.screen_name, sid: /^[0-9a-f-]{36}$/ });
  const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${answer.json.access_token}` } });
  t.equal(me.status, 200);
  const refreshed = await fetch(`${roost.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: answer.json.refresh_token as string }).toString(),
  });
  t.equal(refreshed.status, 200, 'its refresh token works');
});

t.test('without state, only the code is added', async (t) => {
  const { location } = await codeSignIn({ returnTo: `${APP_ORIGIN}/` });
  t.same([...location.searchParams.keys()], ['code']);
});

t.test('a cancel in code mode answers error=access_denied in the query, with the state', async (t) => {
  const { callback } = await codeSignIn({ state: 's1', action: 'cancel' });
  t.equal(callback.location, `${APP_ORIGIN}/callback?tab=2&error=access_denied&error_description=The+user+did+not+authorize+the+app+at+X&state=s1`);
});

t.test('a wrong verifier is refused and burns the code', async (t) => {
  const { verifier, location } = await codeSignIn();
  const code = location.searchParams.get('code') as string;
  const wrong = await redeem({ code, code_verifier: pkcePair().verifier, redirect_uri: RETURN_TO });
  t.equal(wrong.status, 400);
  t.match(wrong.json, { code: 'invalid_grant', error: 'invalid_grant', detail: /code_verifier/ });
  const right = await redeem({ code, code_verifier: verifier, redirect_uri: RETURN_TO });
  t.equal(right.status, 400, 'the code worked once, even though that try failed');
  t.match(right.json, { error: 'invalid_grant' });
});

// A malformed verifier is invalid_request and spends nothing: request-validation.test.ts.
t.test('a well-formed verifier that is not the one (the challenge itself) is refused', async (t) => {
  const { challenge, location } = await codeSignIn();
  const answer = await redeem({ code: location.searchParams.get('code') as string, code_verifier: challenge, redirect_uri: RETURN_TO });
  t.equal(answer.status, 400);
  t.match(answer.json, { error: 'invalid_grant', detail: /code_verifier/ });
});

t.test('a reused code is refused and ends the session the first use opened', async (t) => {
  const { verifier, location } = await codeSignIn();
  const code = location.searchParams.get('code') as string;
  const first = await redeem({ code, code_verifier: verifier, redirect_uri: RETURN_TO });
  t.equal(first.status, 200);
  const second = await redeem({ code, code_verifier: verifier, redirect_uri: RETURN_TO });
  t.equal(second.status, 400);
  t.match(second.json, { error: 'invalid_grant', detail: /already used/ });
  const sid = decodeJwt(first.json.access_token as string).sid as string;
  const row = await roost.deps.db.selectFrom('sessions').select(['revoked_reason']).where('id', '=', sid).executeTakeFirstOrThrow();
  t.equal(row.revoked_reason, 'code_replay');
  const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${first.json.access_token}` } });
  t.equal(me.status, 401, 'the first use tokens stop working');
});

t.test('an expired code is refused (60 s)', async (t) => {
  const { verifier, location } = await codeSignIn();
  clock += 60_000;
  const answer = await redeem({ code: location.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: RETURN_TO });
  t.equal(answer.status, 400);
  t.match(answer.json, { error: 'invalid_grant', detail: /expired/ });
});

t.test('a code is still good at 59 s', async (t) => {
  const { verifier, location } = await codeSignIn();
  clock += 59_000;
  const answer = await redeem({ code: location.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: RETURN_TO });
  t.equal(answer.status, 200);
});

t.test('a mismatched redirect_uri is refused', async (t) => {
  for (const redirectUri of [`${APP_ORIGIN}/callback`, `${APP_ORIGIN}/callback?tab=3`, 'https://evil.example/callback?tab=2', 'not a url']) {
    const { verifier, location } = await codeSignIn();
    const answer = await redeem({ code: location.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: redirectUri });
    t.equal(answer.status, 400, redirectUri);
    t.match(answer.json, { error: 'invalid_grant', detail: /redirect_uri/ });
  }
});

t.test('an unknown or malformed code is refused', async (t) => {
  for (const code of ['A'.repeat(43), 'short', 'x'.repeat(2000)]) {
    const answer = await redeem({ code, code_verifier: pkcePair().verifier, redirect_uri: RETURN_TO });
    t.equal(answer.status, 400, code.slice(0, 10));
    t.match(answer.json, { error: 'invalid_grant' });
  }
});

t.test('/login refuses bad PKCE parameters before going to Twitter', async (t) => {
  const { challenge, verifier } = pkcePair();
  const cases: Array<[Record<string, string>, string]> = [
    [{ code_challenge: challenge }, 'invalid_request'],
    [{ code_challenge: verifier, code_challenge_method: 'plain' }, 'invalid_request'],
    [{ code_challenge: 'abc', code_challenge_method: 'S256' }, 'invalid_request'],
    [{ code_challenge_method: 'S256' }, 'invalid_request'],
    [{ code_challenge: challenge, code_challenge_method: 'S256', return_to: `${APP_ORIGIN}/cb?code=1` }, 'invalid_request'],
    [{ code_challenge: challenge, code_challenge_method: 'S256', return_to: `${APP_ORIGIN}/cb?state=1` }, 'invalid_request'],
    [{ code_challenge: challenge, code_challenge_method: 'S256', return_to: 'https://evil.example/' }, 'return_to_not_allowed'],
  ];
  for (const [params, code] of cases) {
    const query = new URLSearchParams({ return_to: RETURN_TO, ...params });
    const response = await fetch(`${roost.url}/login?${query}`, { redirect: 'manual' });
    t.equal(response.status, 400, query.toString());
    t.notOk(response.headers.get('location'));
    t.match(await response.json(), { code });
  }
});

t.test('the discovery document announces the code flow', async (t) => {
  const metadata = (await (await fetch(`${roost.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.match(metadata, {
    token_endpoint: `${roost.url}/token`,
    response_types_supported: ['token', 'code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
  });
});

t.test('a return_to at its length limit still gets its code and state back', async (t) => {
  const returnTo = LONGEST;
  const state = 's'.repeat(512);
  const { verifier, callback, location } = await codeSignIn({ returnTo, state });
  t.equal(callback.status, 302, 'a redirect, not a refused one');
  t.equal(location.searchParams.get('state'), state);
  const code = location.searchParams.get('code') as string;
  t.equal((await redeem({ code, code_verifier: verifier, redirect_uri: returnTo })).status, 200);
});
