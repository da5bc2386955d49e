// Requests that break openapi.yaml's schemas, over real HTTP: the query
// strings of GET /login and GET /login/callback, the bodies of POST /token
// and POST /logout and the path of DELETE /sessions/{id} get the 4xx the
// document gives them, with limits read from the document itself, and
// change nothing. Also /token's 503 when the flow store fails.
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { contract } from '../helpers/contract.js';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost, type Roost } from '../helpers/roost.js';

const PROBLEM = 'application/problem+json; charset=utf-8';
const RETURN_TO = `${APP_ORIGIN}/signed-in`;

type Limits = { minLength?: number; maxLength?: number };
const schemas = (contract().document.components as { schemas: Record<string, { properties: Record<string, Limits> }> }).schemas;
const token = schemas.TokenRequest?.properties as Record<'code' | 'code_verifier' | 'redirect_uri' | 'refresh_token', Required<Limits>>;
const logout = schemas.LogoutRequest?.properties as Record<'refresh_token' | 'return_to', Required<Limits>>;
const oauthValue = schemas.OAuthValue as unknown as Required<Limits>;
type Parameter = { name: string; schema: Limits };
const loginPath = (contract().document.paths as Record<string, { get: { parameters: Parameter[] } }>)['/login'];
const loginParameter = Object.fromEntries((loginPath?.get.parameters ?? []).map((parameter) => [parameter.name, parameter.schema as Required<Limits>]));

const roost = await startRoost(t);

/** A verifier of the RFC 7636 §4.1 alphabet, all of it used, of the given length. */
const verifierOf = (length: number) => `.~-_${randomBytes(length).toString('base64url')}`.slice(0, length);
const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

async function codeSignIn(on: Roost, verifier: string): Promise<string> {
  const callback = await signIn(new Browser(), on, { loginQuery: { code_challenge: challengeOf(verifier), code_challenge_method: 'S256' } });
  const code = new URL(callback.location ?? 'http://missing/').searchParams.get('code');
  if (!code) throw new Error(`no code: ${callback.status} ${callback.body}`);
  return code;
}

async function post(on: Roost, path: string, body: string | undefined, contentType?: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${on.url}${path}`, { method: 'POST', headers: { ...(contentType ? { 'content-type': contentType } : {}), ...headers }, body, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}
const form = (fields: Record<string, string>) => [new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded'] as const;
const json = (value: unknown) => [JSON.stringify(value), 'application/json'] as const;
const redeem = (code: string, verifier: string) => post(roost, '/token', ...form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: RETURN_TO }));

async function signedIn(): Promise<{ access: string; refresh: string; sid: string }> {
  const answer = fragmentOf((await signIn(new Browser(), roost)).location);
  const access = answer.get('access_token') as string;
  return { access, refresh: answer.get('refresh_token') as string, sid: decodeJwt(access).sid as string };
}

async function get(on: Roost, path: string, query: string) {
  const response = await fetch(`${on.url}${path}?${query}`, { redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: (response.status >= 400 ? JSON.parse(text) : {}) as Record<string, unknown> };
}
const CHALLENGE = challengeOf(verifierOf(43));
const pkce = (state?: string) => ({ code_challenge: CHALLENGE, code_challenge_method: 'S256', ...(state === undefined ? {} : { state }) });
/** A return_to on the allowed origin, exactly `length` characters long. */
const returnToOf = (length: number) => `${APP_ORIGIN}/${'a'.repeat(length - APP_ORIGIN.length - 1)}`;

t.test('GET /login: the return_to and state limits of the document are the ones accepted', async (t) => {
  const returnTo = loginParameter.return_to as Required<Limits>;
  const state = loginParameter.state as Required<Limits>;
  t.equal(returnTo.maxLength, 2048);
  t.equal(state.maxLength, 512);
  // A return_to at the limit is accepted where it is registered.
  const longest = returnToOf(returnTo.maxLength);
  const registered = await startRoost(t, { env: { RETURN_TO_URLS: `${RETURN_TO},${longest}` } });
  const atLimit = await get(registered, '/login', new URLSearchParams({ return_to: longest }).toString());
  t.equal(atLimit.status, 302, 'return_to at maxLength');
  t.match(atLimit.headers.get('location'), /\/oauth\/authenticate\?oauth_token=/);
  const accepted: Array<[string, Record<string, string>]> = [
    ['state in the fragment mode', { return_to: RETURN_TO, state: 'a' }],
    ['state at maxLength in the fragment mode', { return_to: RETURN_TO, state: 's'.repeat(state.maxLength) }],
    ['state at minLength', { return_to: RETURN_TO, ...pkce('s'.repeat(state.minLength)) }],
    ['state at maxLength', { return_to: RETURN_TO, ...pkce('s'.repeat(state.maxLength)) }],
    ['state of every printable ASCII character', { return_to: RETURN_TO, ...pkce(Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('')) }],
  ];
  for (const [name, query] of accepted) {
    const answer = await get(roost, '/login', new URLSearchParams(query).toString());
    t.equal(answer.status, 302, name);
    t.match(answer.headers.get('location'), /\/oauth\/authenticate\?oauth_token=/, name);
  }
});

t.test('GET /login: queries the document refuses are invalid_request, with no redirect and no cookie', async (t) => {
  const returnTo = loginParameter.return_to as Required<Limits>;
  const state = loginParameter.state as Required<Limits>;
  const query = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const cases: Array<[string, string, RegExp]> = [
    ['no return_to', '', /^return_to is required$/],
    ['an empty return_to', 'return_to=', /^return_to must NOT have fewer than 1 characters$/],
    ['return_to one past maxLength', query({ return_to: returnToOf(returnTo.maxLength + 1) }), new RegExp(`^return_to must NOT have more than ${returnTo.maxLength} characters$`)],
    ['a repeated return_to', `${query({ return_to: RETURN_TO })}&${query({ return_to: RETURN_TO })}`, /^return_to must be given once, as a string$/],
    ['a return_to that is not a URI', query({ return_to: '/signed-in' }), /^return_to must match format "uri"$/],
    ['state one past maxLength', query({ return_to: RETURN_TO, ...pkce('s'.repeat(state.maxLength + 1)) }), new RegExp(`^state must NOT have more than ${state.maxLength} characters$`)],
    ['an empty state', query({ return_to: RETURN_TO, ...pkce('') }), /^state must NOT have fewer than 1 characters$/],
    ['a state with a tab', query({ return_to: RETURN_TO, ...pkce('a\tb') }), /^state must match pattern/],
    ['a state beyond ASCII', query({ return_to: RETURN_TO, ...pkce('café') }), /^state must match pattern/],
    ['a repeated state', `${query({ return_to: RETURN_TO, ...pkce('a') })}&state=a`, /^state must be given once/],
    ['a code_challenge one short', query({ return_to: RETURN_TO, ...pkce(), code_challenge: CHALLENGE.slice(1) }), /^code_challenge must match pattern/],
    ['a padded code_challenge', query({ return_to: RETURN_TO, ...pkce(), code_challenge: `${CHALLENGE}=` }), /^code_challenge must match pattern/],
    ['code_challenge_method=plain', query({ return_to: RETURN_TO, ...pkce(), code_challenge_method: 'plain' }), /^code_challenge_method must be S256$/],
    ['a repeated code_challenge_method', `${query({ return_to: RETURN_TO, ...pkce() })}&code_challenge_method=S256`, /^code_challenge_method must be given once/],
    // What the document cannot say, login-params.ts does: the same code.
    ['a code_challenge without its method', query({ return_to: RETURN_TO, code_challenge: CHALLENGE }), /^code_challenge_method must be S256 \(plain is not accepted\)$/],
    ['state one past maxLength in the fragment mode', query({ return_to: RETURN_TO, state: 's'.repeat(state.maxLength + 1) }), new RegExp(`^state must NOT have more than ${state.maxLength} characters$`)],
    ['code_challenge_method without code_challenge', query({ return_to: RETURN_TO, code_challenge_method: 'S256' }), /^code_challenge_method is used only with code_challenge$/],
  ];
  for (const [name, q, detail] of cases) {
    const answer = await get(roost, '/login', q);
    t.equal(answer.status, 400, name);
    t.equal(answer.headers.get('content-type'), PROBLEM, name);
    t.equal(answer.headers.get('location'), null, name);
    t.equal(answer.headers.get('set-cookie'), null, name);
    t.match(answer.json, { code: 'invalid_request', status: 400, detail }, name);
  }
  const origin = await get(roost, '/login', query({ return_to: 'https://evil.example/' }));
  t.match(origin.json, { code: 'return_to_not_allowed' }, 'a well-formed return_to off the allowlist is still return_to_not_allowed');
});

t.test('GET /login/callback: the OAuthValue limits of the document, then the flow', async (t) => {
  t.equal(oauthValue.maxLength, 512);
  const cases: Array<[string, string, string, RegExp]> = [
    ['oauth_token at maxLength', `oauth_token=${'t'.repeat(oauthValue.maxLength)}&oauth_verifier=v`, 'flow_not_found', /unknown/],
    ['denied at maxLength', `denied=${'t'.repeat(oauthValue.maxLength)}`, 'flow_not_found', /unknown/],
    ['oauth_token one past maxLength', `oauth_token=${'t'.repeat(oauthValue.maxLength + 1)}&oauth_verifier=v`, 'invalid_callback', new RegExp(`^oauth_token must (NOT have more than ${oauthValue.maxLength} characters|match pattern)`)],
    ['oauth_verifier one past maxLength', `oauth_token=t&oauth_verifier=${'v'.repeat(oauthValue.maxLength + 1)}`, 'invalid_callback', /^oauth_verifier /],
    ['an empty denied', 'denied=', 'invalid_callback', /^denied /],
    ['a denied outside the alphabet', 'denied=a%20b', 'invalid_callback', /^denied must match pattern/],
    ['a repeated oauth_verifier', 'oauth_token=t&oauth_verifier=v&oauth_verifier=v', 'invalid_callback', /^oauth_verifier must be given once, as a string$/],
    ['a repeated denied', 'denied=t&denied=t', 'invalid_callback', /^denied must be given once/],
    // What the document cannot say, login-params.ts does: the same code.
    ['denied beside oauth_token', 'denied=t&oauth_token=t', 'invalid_callback', /combined/],
    ['no verifier', 'oauth_token=t', 'invalid_callback', /required/],
  ];
  for (const [name, q, code, detail] of cases) {
    const answer = await get(roost, '/login/callback', q);
    t.equal(answer.status, 400, name);
    t.equal(answer.headers.get('content-type'), PROBLEM, name);
    t.equal(answer.headers.get('cache-control'), 'no-store', name);
    t.equal(answer.headers.get('referrer-policy'), 'no-referrer', name);
    t.match(answer.json, { code, detail }, name);
    if (code === 'invalid_callback') t.equal(answer.headers.get('set-cookie'), null, `${name}: the cookie is left alone`);
  }
});

t.test('the verifier lengths of the document are the ones accepted', async (t) => {
  t.equal(token.code_verifier.minLength, 43, 'RFC 7636 §4.1');
  t.equal(token.code_verifier.maxLength, 128, 'RFC 7636 §4.1');
  for (const length of [token.code_verifier.minLength, token.code_verifier.maxLength]) {
    const verifier = verifierOf(length);
    const answer = await redeem(await codeSignIn(roost, verifier), verifier);
    t.equal(answer.status, 200, `${length} characters`);
  }
});

t.test('a malformed verifier is invalid_request, even with its own challenge, and leaves the code unspent', async (t) => {
  const malformed: Array<[string, string]> = [
    ['one character short', verifierOf(token.code_verifier.minLength - 1)],
    ['one character long', verifierOf(token.code_verifier.maxLength + 1)],
    ['outside the alphabet (+)', `${verifierOf(token.code_verifier.minLength)}+`],
    ['outside the alphabet (é)', `${verifierOf(token.code_verifier.minLength)}é`],
    ['outside the alphabet (space)', `${verifierOf(token.code_verifier.minLength)} `],
  ];
  for (const [name, bad] of malformed) {
    const good = verifierOf(64);
    const code = await codeSignIn(roost, good);
    // Its own challenge: a verifier that would match is refused all the same.
    const own = await codeSignIn(roost, bad);
    for (const attempt of [await redeem(own, bad), await redeem(code, bad)]) {
      t.equal(attempt.status, 400, name);
      // RFC 6749 §5.2: an OAuth error of the token endpoint is application/json.
      t.equal(attempt.headers.get('content-type'), 'application/json; charset=utf-8');
      t.equal(attempt.headers.get('pragma'), 'no-cache');
      t.match(attempt.json, { code: 'invalid_request', error: 'invalid_request', detail: /^code_verifier / }, name);
    }
    t.equal((await redeem(code, good)).status, 200, `${name}: the code still works with its verifier`);
  }
});

t.test('POST /token: bodies the document refuses get invalid_request, an unknown grant_type unsupported_grant_type', async (t) => {
  const unknownToken = 'A'.repeat(43);
  const cases: Array<[string, readonly [string, string], string, RegExp]> = [
    ['refresh_token one past maxLength', form({ grant_type: 'refresh_token', refresh_token: 'a'.repeat(token.refresh_token.maxLength + 1) }), 'invalid_request', /^refresh_token must NOT have more than/],
    ['code one past maxLength', form({ grant_type: 'authorization_code', code: 'a'.repeat(token.code.maxLength + 1), code_verifier: verifierOf(43), redirect_uri: RETURN_TO }), 'invalid_request', /^code must NOT have more/],
    ['redirect_uri one past maxLength', form({ grant_type: 'authorization_code', code: unknownToken, code_verifier: verifierOf(43), redirect_uri: `${RETURN_TO}?${'a'.repeat(token.redirect_uri.maxLength)}` }), 'invalid_request', /^redirect_uri must NOT have more/],
    ['a number', json({ grant_type: 'refresh_token', refresh_token: 42 }), 'invalid_request', /^refresh_token must be given once, as a string$/],
    ['a boolean', json({ grant_type: 'refresh_token', refresh_token: true }), 'invalid_request', /^refresh_token must be given once/],
    ['a one-element array', json({ grant_type: 'refresh_token', refresh_token: [unknownToken] }), 'invalid_request', /^refresh_token must be given once/],
    ['a null grant_type', json({ grant_type: null }), 'invalid_request', /^grant_type must be given once/],
    ['a repeated grant_type', ['grant_type=refresh_token&grant_type=refresh_token&refresh_token=x', 'application/x-www-form-urlencoded'], 'invalid_request', /^grant_type must be given once/],
    ['an empty grant_type (absent, RFC 6749 §3.1)', form({ grant_type: '', refresh_token: unknownToken }), 'invalid_request', /^grant_type is required$/],
    ['an empty refresh_token', form({ grant_type: 'refresh_token', refresh_token: '' }), 'invalid_request', /^refresh_token is required/],
    ['a JSON string', json('grant_type=refresh_token'), 'invalid_request', /form-encoded or a JSON object/],
    ['an unknown grant_type', form({ grant_type: 'client_credentials' }), 'unsupported_grant_type', /^grant_type must be one of authorization_code, refresh_token$/],
    ['an unknown grant_type in JSON', json({ grant_type: 'password', username: 'a', password: 'b' }), 'unsupported_grant_type', /grant_type/],
    // Within the document's limits, the grant itself is what fails.
    ['refresh_token at maxLength', form({ grant_type: 'refresh_token', refresh_token: 'a'.repeat(token.refresh_token.maxLength) }), 'invalid_grant', /malformed/],
    ['an empty code_verifier beside a refresh token', form({ grant_type: 'refresh_token', refresh_token: unknownToken, code_verifier: '' }), 'invalid_grant', /unknown/],
  ];
  for (const [name, [body, contentType], code, detail] of cases) {
    const answer = await post(roost, '/token', body, contentType);
    t.equal(answer.status, 400, name);
    // RFC 6749 §5.2: an OAuth error of the token endpoint is application/json.
    t.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8', name);
    t.equal(answer.headers.get('cache-control'), 'no-store', name);
    t.equal(answer.headers.get('pragma'), 'no-cache', name);
    t.match(answer.json, { code, error: code, status: 400, detail }, name);
  }
});

t.test('POST /logout: bodies the document refuses are invalid_request and end nothing', async (t) => {
  const session = await signedIn();
  const bearer = { authorization: `Bearer ${session.access}` };
  const cases: Array<[string, readonly [string, string], RegExp]> = [
    ['a return_to that is not a URI', form({ refresh_token: session.refresh, return_to: '/signed-out' }), /^return_to must match format "uri"$/],
    ['a return_to one past maxLength', form({ refresh_token: session.refresh, return_to: `${APP_ORIGIN}/${'a'.repeat(logout.return_to.maxLength)}` }), /^return_to must NOT have more/],
    ['a refresh_token one past maxLength', form({ refresh_token: 'a'.repeat(logout.refresh_token.maxLength + 1) }), /^refresh_token must NOT have more/],
    ['a number', json({ refresh_token: 42 }), /^refresh_token must be given once, as a string$/],
    ['a one-element array', json({ refresh_token: [session.refresh] }), /^refresh_token must be given once/],
    ['a JSON string', json(session.refresh), /form-encoded or a JSON object/],
    ['a text body', [`refresh_token=${session.refresh}`, 'text/plain'], /form-encoded or a JSON object/],
  ];
  for (const [name, [body, contentType], detail] of cases) {
    for (const headers of [{}, bearer]) {
      const answer = await post(roost, '/logout', body, contentType, headers);
      t.equal(answer.status, 400, name);
      t.equal(answer.headers.get('content-type'), PROBLEM, name);
      t.match(answer.json, { code: 'invalid_request', detail }, name);
    }
  }
  const alive = await fetch(`${roost.url}/me`, { headers: bearer });
  t.equal(alive.status, 200, 'the session survived every refused logout');
  await alive.arrayBuffer();
});

t.test('POST /logout: no body, or empty parameters, with a bearer token', async (t) => {
  for (const [body, contentType] of [[undefined, undefined], form({ refresh_token: '', return_to: '' }), json({ return_to: '' })] as const) {
    const session = await signedIn();
    const answer = await post(roost, '/logout', body, contentType, { authorization: `Bearer ${session.access}` });
    t.equal(answer.status, 204, `${contentType ?? 'no body'}`);
    const ended = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${session.access}` } });
    t.equal(ended.status, 401, 'signed out');
    await ended.arrayBuffer();
  }
  t.match((await post(roost, '/logout', ...form({ return_to: '' }))).json, { code: 'invalid_request', detail: /refresh token in the body/ }, 'an empty form names nothing to end');
});

t.test('DELETE /sessions/{id}: an id the document refuses is a 404 once the token passed, a 401 before', async (t) => {
  const session = await signedIn();
  const remove = async (id: string, access?: string) => {
    const response = await fetch(`${roost.url}/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', ...(access ? { headers: { authorization: `Bearer ${access}` } } : {}) });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
  };
  const unknown = await remove('00000000-0000-4000-8000-000000000000', session.access);
  t.equal(unknown.status, 404);
  const malformed = [
    'not-a-uuid',
    // ajv's uuid format alone would take these; the document's pattern does not.
    `urn:uuid:${session.sid}`,
    `urn:uuid:${session.sid.toUpperCase()}`,
    session.sid.replace(/-/g, ''),
    `{${session.sid}}`,
    `${session.sid}0`,
    ` ${session.sid}`,
  ];
  for (const id of malformed) {
    const answer = await remove(id, session.access);
    t.equal(answer.status, 404, id);
    t.equal(answer.headers.get('content-type'), PROBLEM, id);
    t.same(answer.json, unknown.json, `${id}: answered exactly like an unknown id`);
    const anonymous = await remove(id);
    t.equal(anonymous.status, 401, `${id} without a token`);
    t.match(anonymous.json, { code: 'invalid_token' });
  }
  const alive = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${session.access}` } });
  t.equal(alive.status, 200, 'the session survived');
  await alive.arrayBuffer();
  t.equal((await fetch(`${roost.url}/sessions/${session.sid.toUpperCase()}`, { method: 'DELETE', headers: { authorization: `Bearer ${session.access}` } })).status, 204, 'either case is a session id');
});

t.test('POST /token answers 503 store_unavailable when the flow store fails while a code is redeemed', async (t) => {
  const { redis, databaseUrl, redisUrl } = await startDependencyProxies(t);
  const behind = await startRoost(t, { env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } });
  const verifier = verifierOf(43);
  const code = await codeSignIn(behind, verifier);
  await redis.cut();
  t.teardown(() => redis.restore());
  const answer = await post(behind, '/token', ...form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: RETURN_TO }));
  t.equal(answer.status, 503);
  t.equal(answer.headers.get('content-type'), PROBLEM);
  t.equal(answer.headers.get('pragma'), 'no-cache');
  t.match(answer.json, { code: 'store_unavailable', status: 503 });
  t.notOk('error' in answer.json, 'RFC 6749 has no code for it');
  const documented = JSON.stringify((contract().document.paths as Record<string, { post: { responses: Record<string, unknown> } }>)['/token']?.post.responses['503']);
  t.match(documented, /store_unavailable/, 'openapi.yaml lists it');
  t.match(documented, /database_unavailable/);
});

