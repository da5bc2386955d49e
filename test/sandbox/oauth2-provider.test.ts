// The sandbox's OAuth 2.0 (X's Authorization Code with PKCE) over real HTTP,
// driven by a small client written here from the specs (RFC 6749, RFC 7636):
// fetch for the calls, node:crypto for the verifier and its S256 challenge,
// the consent page read and submitted as a browser would.
import { createHash, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import t from 'tap';
import { OAUTH2_PATHS, sandboxProvider, startSandboxServer, type SandboxServer, type SandboxServerOptions } from '../../src/sandbox/provider.js';
import { createDefaultSandboxUsers, type SandboxUser } from '../../src/sandbox/users.js';

const CLIENT = { id: 'sandbox-test-client', secret: 'sandbox-test-client-secret' };
const CALLBACK = 'http://127.0.0.1:5173/login/callback';
const LOGIN_SCOPE = 'tweet.read users.read';
const UNAUTHORIZED = { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' };

// The subtest type, taken from t.test's callback (tap's plugins are mixed in).
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(url: string, init: { method?: string; headers?: Record<string, string>; form?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.form !== undefined) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** RFC 7636 §4.1–4.2: 32 random octets as the verifier, its SHA-256 as the challenge. */
function createPkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** RFC 6749 §2.3.1: the id and secret form-encoded, joined by a colon, base64. */
function basic(id = CLIENT.id, secret = CLIENT.secret): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function authorizeUrl(base: string, params: Record<string, string | undefined>): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return `${base}${OAUTH2_PATHS.authorize}?${new URLSearchParams(defined)}`;
}

function authorizeParams(challenge: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    response_type: 'code',
    client_id: CLIENT.id,
    redirect_uri: CALLBACK,
    scope: LOGIN_SCOPE,
    state: 'state-123',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
}

/** Reads the consent page and submits it as a browser would: back to the page's own URL. */
async function decide(pageUrl: string, choice: { userId?: string; action: 'approve' | 'cancel' }) {
  const page = await send(pageUrl);
  const firstUser = /<input type="radio" name="user_id" value="([^"]*)" checked>/.exec(page.text)?.[1];
  const answer = await send(pageUrl, { method: 'POST', form: { user_id: choice.userId ?? firstUser ?? '', action: choice.action } });
  return { page, answer, location: answer.headers.get('location') ?? '' };
}

/** `authorization` null sends no Authorization header. */
async function postToken(base: string, form: Record<string, string>, authorization: string | null = basic()) {
  const answer = await send(`${base}${OAUTH2_PATHS.token}`, { method: 'POST', form, headers: authorization === null ? {} : { authorization } });
  return { ...answer, json: parseJson(answer.text) };
}

async function revoke(base: string, form: Record<string, string>, authorization: string | null = basic()) {
  const answer = await send(`${base}${OAUTH2_PATHS.revoke}`, { method: 'POST', form, headers: authorization === null ? {} : { authorization } });
  return { ...answer, json: parseJson(answer.text) };
}

async function usersMe(base: string, accessToken: string | undefined, query = 'user.fields=profile_image_url,confirmed_email') {
  const answer = await send(`${base}${OAUTH2_PATHS.usersMe}${query === '' ? '' : `?${query}`}`, {
    headers: accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` },
  });
  return { ...answer, json: parseJson(answer.text) };
}

function parseJson(text: string): Record<string, unknown> {
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** Authorize and approve as `userId`; returns the code and what the token request needs. */
async function approve(base: string, options: { userId?: string; scope?: string; state?: string } = {}) {
  const pkce = createPkce();
  const url = authorizeUrl(base, authorizeParams(pkce.challenge, { scope: options.scope ?? LOGIN_SCOPE, state: options.state ?? 'state-123' }));
  const decided = await decide(url, { action: 'approve', ...(options.userId === undefined ? {} : { userId: options.userId }) });
  const code = new URL(decided.location).searchParams.get('code') ?? '';
  return { ...decided, code, verifier: pkce.verifier };
}

function codeGrant(code: string, verifier: string, overrides: Record<string, string> = {}): Record<string, string> {
  return { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: verifier, ...overrides };
}

/** The whole dance as `userId`; returns the token answer's JSON. */
async function signIn(base: string, options: { userId?: string; scope?: string } = {}) {
  const approved = await approve(base, options);
  const answer = await postToken(base, codeGrant(approved.code, approved.verifier));
  if (answer.status !== 200) throw new Error(`token answered ${answer.status}`);
  return answer.json as { access_token: string; refresh_token?: string; scope: string };
}

async function startServer(t: Test, options: Partial<SandboxServerOptions> = {}): Promise<SandboxServer & { users: SandboxUser[] }> {
  const users = options.users ?? createDefaultSandboxUsers();
  const server = await startSandboxServer({
    consumerKey: 'sandbox-test-consumer',
    consumerSecret: 'sandbox-test-secret',
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    allowedCallbacks: [CALLBACK],
    ...options,
    users,
  });
  t.teardown(() => server.close());
  return { ...server, users };
}

function expectOAuthError(t: Test, answer: { status: number; headers: Headers; json: Record<string, unknown> }, status: number, error: string) {
  t.equal(answer.status, status, `HTTP ${status}`);
  t.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(answer.headers.get('cache-control'), 'no-store');
  t.equal(answer.json.error, error);
  t.type(answer.json.error_description, 'string');
  t.same(Object.keys(answer.json), ['error', 'error_description'], 'RFC 6749 §5.2 members only');
}

t.test('the whole dance: consent page, code, token, /2/users/me, revoke', async (t) => {
  const server = await startServer(t);
  const [alice, bob] = server.users as [SandboxUser, SandboxUser];
  const pkce = createPkce();
  // A state with characters that must survive the round trip.
  const state = 'a b&c=d/é+%';
  const pageUrl = authorizeUrl(server.url, authorizeParams(pkce.challenge, { state, scope: 'tweet.read users.read users.email' }));

  const decided = await decide(pageUrl, { userId: bob.id_str, action: 'approve' });
  const { page } = decided;
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.equal(page.headers.get('cache-control'), 'no-store');
  t.equal(page.headers.get('x-frame-options'), 'DENY');
  t.equal(page.headers.get('referrer-policy'), 'no-referrer');
  t.match(page.text, /sandbox/i, 'the banner says it is the sandbox');
  t.match(page.text, '<form method="post">', 'posts back to the page URL');
  t.notMatch(page.text, /type="hidden"/, 'the request travels in the page URL, not in hidden fields');
  t.match(page.text, `<label><input type="radio" name="user_id" value="${alice.id_str}" checked> ${alice.name}`);
  t.equal(page.text.match(/type="radio"/g)?.length, 3, 'one radio button per user');
  t.match(page.text, '<code>tweet.read</code>, <code>users.read</code>, <code>users.email</code>', 'lists the scopes asked for');
  t.match(page.text, 'http://127.0.0.1:5173', 'names where the person is sent back');
  t.match(page.text, '<button type="submit" name="action" value="approve">Approve</button>');
  t.match(page.text, '<button type="submit" name="action" value="cancel">Cancel</button>');

  t.equal(decided.answer.status, 302);
  t.equal(decided.answer.headers.get('cache-control'), 'no-store');
  const location = new URL(decided.location);
  t.equal(`${location.origin}${location.pathname}`, CALLBACK);
  t.same([...location.searchParams.keys()], ['code', 'state']);
  t.equal(location.searchParams.get('state'), state, 'state comes back exactly');
  const code = location.searchParams.get('code') ?? '';
  t.match(code, /^[A-Za-z0-9_-]{32}$/);

  const token = await postToken(server.url, codeGrant(code, pkce.verifier));
  t.equal(token.status, 200);
  t.equal(token.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(token.headers.get('cache-control'), 'no-store');
  t.equal(token.headers.get('pragma'), 'no-cache');
  t.same(Object.keys(token.json), ['token_type', 'expires_in', 'access_token', 'scope'], 'no refresh_token without offline.access');
  t.equal(token.json.token_type, 'bearer');
  t.equal(token.json.expires_in, 7200);
  t.equal(token.json.scope, 'tweet.read users.read users.email');
  const accessToken = token.json.access_token as string;
  t.match(accessToken, /^[A-Za-z0-9_-]{32}$/);
  t.not(accessToken, code);

  const me = await usersMe(server.url, accessToken);
  t.equal(me.status, 200);
  t.equal(me.headers.get('content-type'), 'application/json; charset=utf-8');
  // Bob has no picture, so profile_image_url is left out even though asked for.
  t.same(me.json, { data: { id: bob.id_str, name: bob.name, username: bob.screen_name, confirmed_email: bob.email } });
  t.match(me.text, `"id":"${bob.id_str}"`, 'the id is a string, exact past 2^53');

  const plain = await usersMe(server.url, accessToken, '');
  t.same(plain.json, { data: { id: bob.id_str, name: bob.name, username: bob.screen_name } }, 'id, name and username only, unless asked');

  const revoked = await revoke(server.url, { token: accessToken, token_type_hint: 'access_token' });
  t.equal(revoked.status, 200);
  t.same(revoked.json, { revoked: true });
  const after = await usersMe(server.url, accessToken);
  t.equal(after.status, 401);
  t.same(after.json, UNAUTHORIZED);
});

t.test('alice, with a picture, asked for it', async (t) => {
  const server = await startServer(t);
  const alice = server.users[0] as SandboxUser;
  const tokens = await signIn(server.url, { userId: alice.id_str });
  const me = await usersMe(server.url, tokens.access_token, 'user.fields=profile_image_url');
  t.same(me.json, { data: { id: alice.id_str, name: alice.name, username: alice.screen_name, profile_image_url: alice.profile_image_url_https } });
});

t.test('offline.access brings a refresh token, used once, rotated on every refresh', async (t) => {
  const server = await startServer(t);
  const first = await signIn(server.url, { scope: 'tweet.read users.read offline.access' });
  t.same(Object.keys(first), ['token_type', 'expires_in', 'access_token', 'scope', 'refresh_token']);
  t.equal(first.scope, 'tweet.read users.read offline.access');
  const refreshToken = first.refresh_token ?? '';
  t.match(refreshToken, /^[A-Za-z0-9_-]{32}$/);

  const refreshed = await postToken(server.url, { grant_type: 'refresh_token', refresh_token: refreshToken });
  t.equal(refreshed.status, 200);
  t.same(Object.keys(refreshed.json), ['token_type', 'expires_in', 'access_token', 'scope', 'refresh_token']);
  t.not(refreshed.json.access_token, first.access_token);
  t.not(refreshed.json.refresh_token, refreshToken);
  t.equal((await usersMe(server.url, refreshed.json.access_token as string)).status, 200);

  expectOAuthError(t, await postToken(server.url, { grant_type: 'refresh_token', refresh_token: refreshToken }), 400, 'invalid_grant');
  expectOAuthError(t, await postToken(server.url, { grant_type: 'refresh_token', refresh_token: 'unknown' }), 400, 'invalid_grant');
  expectOAuthError(t, await postToken(server.url, { grant_type: 'refresh_token' }), 400, 'invalid_request');
  expectOAuthError(t, await postToken(server.url, { grant_type: 'refresh_token', refresh_token: refreshed.json.refresh_token as string }, basic(CLIENT.id, 'wrong')), 401, 'invalid_client');

  // Revoking the refresh token ends its grant: every access token issued from it too.
  const latest = refreshed.json.refresh_token as string;
  t.same((await revoke(server.url, { token: latest, token_type_hint: 'refresh_token' })).json, { revoked: true });
  t.equal((await usersMe(server.url, refreshed.json.access_token as string)).status, 401);
  t.equal((await usersMe(server.url, first.access_token)).status, 401);
  expectOAuthError(t, await postToken(server.url, { grant_type: 'refresh_token', refresh_token: latest }), 400, 'invalid_grant');
});

t.test('client authentication at the token endpoint', async (t) => {
  const server = await startServer(t);
  const expectInvalidClient = async (t: Test, authorization: string | null, form: Record<string, string> = {}) => {
    const approved = await approve(server.url);
    const answer = await postToken(server.url, { ...codeGrant(approved.code, approved.verifier), ...form }, authorization);
    expectOAuthError(t, answer, 401, 'invalid_client');
    t.match(answer.headers.get('www-authenticate'), /^Basic realm="[^"]+"/);
    t.notMatch(answer.text, CLIENT.secret, 'the secret is never echoed');
    // The refused request did not spend the code.
    t.equal((await postToken(server.url, codeGrant(approved.code, approved.verifier))).status, 200, 'the code still works with the right client');
  };
  t.test('wrong secret', (t) => expectInvalidClient(t, basic(CLIENT.id, 'wrong-secret')));
  t.test('secret with one character more', (t) => expectInvalidClient(t, basic(CLIENT.id, `${CLIENT.secret}x`)));
  t.test('unknown client id', (t) => expectInvalidClient(t, basic('other-client', CLIENT.secret)));
  t.test('no Authorization header', (t) => expectInvalidClient(t, null));
  t.test('only client_id in the body, as a public client would', (t) => expectInvalidClient(t, null, { client_id: CLIENT.id }));
  t.test('a Bearer header instead of Basic', (t) => expectInvalidClient(t, `Bearer ${CLIENT.secret}`));
  t.test('Basic without a colon', (t) => expectInvalidClient(t, `Basic ${Buffer.from(CLIENT.id).toString('base64')}`));

  t.test('client_id in the body that matches is accepted', async (t) => {
    const approved = await approve(server.url);
    t.equal((await postToken(server.url, codeGrant(approved.code, approved.verifier, { client_id: CLIENT.id }))).status, 200);
  });
  t.test('client_id in the body that names another client', async (t) => {
    const approved = await approve(server.url);
    expectOAuthError(t, await postToken(server.url, codeGrant(approved.code, approved.verifier, { client_id: 'other-client' })), 400, 'invalid_request');
  });
  t.test('client_secret in the body is a second method', async (t) => {
    const approved = await approve(server.url);
    expectOAuthError(t, await postToken(server.url, codeGrant(approved.code, approved.verifier, { client_secret: CLIENT.secret })), 400, 'invalid_request');
  });
  t.test('form-encoded id and secret in Basic are decoded (RFC 6749 §2.3.1)', async (t) => {
    const odd = { id: 'client:with space', secret: 'sec+ret/é' };
    const own = await startServer(t, { clientId: odd.id, clientSecret: odd.secret });
    const pkce = createPkce();
    const decided = await decide(authorizeUrl(own.url, authorizeParams(pkce.challenge, { client_id: odd.id })), { action: 'approve' });
    const code = new URL(decided.location).searchParams.get('code') ?? '';
    t.equal((await postToken(own.url, codeGrant(code, pkce.verifier), basic(odd.id, odd.secret))).status, 200);
  });
  t.test('a sandbox without an OAuth 2.0 app refuses every client', async (t) => {
    const own = await startServer(t, { clientId: undefined, clientSecret: undefined });
    const answer = await postToken(own.url, codeGrant('code', createPkce().verifier));
    expectOAuthError(t, answer, 401, 'invalid_client');
    const page = await send(authorizeUrl(own.url, authorizeParams(createPkce().challenge)));
    t.equal(page.status, 400);
    t.equal(page.headers.get('location'), null);
  });
});

t.test('the code: bound to its verifier and redirect URI, used once, within 30 seconds', async (t) => {
  let skew = 0;
  const server = await startServer(t, { now: () => Date.now() + skew });

  t.test('a wrong verifier spends the code', async (t) => {
    const approved = await approve(server.url);
    expectOAuthError(t, await postToken(server.url, codeGrant(approved.code, createPkce().verifier)), 400, 'invalid_grant');
    expectOAuthError(t, await postToken(server.url, codeGrant(approved.code, approved.verifier)), 400, 'invalid_grant');
  });
  t.test('the challenge itself as the verifier (what plain would send)', async (t) => {
    const pkce = createPkce();
    const decided = await decide(authorizeUrl(server.url, authorizeParams(pkce.challenge)), { action: 'approve' });
    const code = new URL(decided.location).searchParams.get('code') ?? '';
    expectOAuthError(t, await postToken(server.url, codeGrant(code, pkce.challenge)), 400, 'invalid_grant');
  });
  t.test('no verifier', async (t) => {
    const approved = await approve(server.url);
    const { code_verifier: _, ...withoutVerifier } = codeGrant(approved.code, approved.verifier);
    expectOAuthError(t, await postToken(server.url, withoutVerifier), 400, 'invalid_request');
  });
  t.test('a replayed code is refused, and the tokens it gave are revoked', async (t) => {
    const approved = await approve(server.url);
    const first = await postToken(server.url, codeGrant(approved.code, approved.verifier));
    t.equal(first.status, 200);
    const accessToken = first.json.access_token as string;
    t.equal((await usersMe(server.url, accessToken)).status, 200);
    const replay = await postToken(server.url, codeGrant(approved.code, approved.verifier));
    expectOAuthError(t, replay, 400, 'invalid_grant');
    t.equal((await usersMe(server.url, accessToken)).status, 401, 'RFC 6749 §4.1.2: the first exchange is undone');
  });
  t.test('redirect_uri at the token endpoint must equal the authorize one', async (t) => {
    for (const other of [`${CALLBACK}/`, 'http://127.0.0.1:5173/login/callback?x=1', 'http://localhost:5173/login/callback']) {
      const approved = await approve(server.url);
      expectOAuthError(t, await postToken(server.url, codeGrant(approved.code, approved.verifier, { redirect_uri: other })), 400, 'invalid_grant');
    }
    const approved = await approve(server.url);
    const { redirect_uri: _, ...withoutRedirect } = codeGrant(approved.code, approved.verifier);
    expectOAuthError(t, await postToken(server.url, withoutRedirect), 400, 'invalid_request');
  });
  t.test('29 seconds is in time; 31 seconds is too late', async (t) => {
    const inTime = await approve(server.url);
    skew = 29_000;
    t.equal((await postToken(server.url, codeGrant(inTime.code, inTime.verifier))).status, 200);
    skew = 0;
    const late = await approve(server.url);
    skew = 31_000;
    expectOAuthError(t, await postToken(server.url, codeGrant(late.code, late.verifier)), 400, 'invalid_grant');
    skew = 0;
  });
  t.test('an unknown code', async (t) => {
    expectOAuthError(t, await postToken(server.url, codeGrant('not-a-code', createPkce().verifier)), 400, 'invalid_grant');
  });
  t.test('the user was removed after approving', async (t) => {
    const users = createDefaultSandboxUsers();
    const own = await startServer(t, { users });
    const approved = await approve(own.url, { userId: users[2]?.id_str ?? '' });
    users.pop();
    expectOAuthError(t, await postToken(own.url, codeGrant(approved.code, approved.verifier)), 400, 'invalid_grant');
  });
});

t.test('malformed token requests', async (t) => {
  const server = await startServer(t);
  const approved = await approve(server.url);
  const grant = codeGrant(approved.code, approved.verifier);
  expectOAuthError(t, await postToken(server.url, { ...grant, grant_type: 'password' }), 400, 'unsupported_grant_type');
  expectOAuthError(t, await postToken(server.url, { ...grant, grant_type: 'client_credentials' }), 400, 'unsupported_grant_type');
  const { grant_type: _, ...withoutType } = grant;
  expectOAuthError(t, await postToken(server.url, withoutType), 400, 'invalid_request');
  const { code: __, ...withoutCode } = grant;
  expectOAuthError(t, await postToken(server.url, withoutCode), 400, 'invalid_request');

  const url = `${server.url}${OAUTH2_PATHS.token}`;
  const asJson = await send(url, { method: 'POST', headers: { authorization: basic(), 'content-type': 'application/json' }, body: JSON.stringify(grant) });
  expectOAuthError(t, { ...asJson, json: parseJson(asJson.text) }, 400, 'invalid_request');
  const repeated = await send(url, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
    body: `${new URLSearchParams(grant)}&code=other`,
  });
  expectOAuthError(t, { ...repeated, json: parseJson(repeated.text) }, 400, 'invalid_request');
  const brokenJson = await send(url, { method: 'POST', headers: { authorization: basic(), 'content-type': 'application/json' }, body: '{"code":' });
  expectOAuthError(t, { ...brokenJson, json: parseJson(brokenJson.text) }, 400, 'invalid_request');
  const huge = await send(url, { method: 'POST', headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${'x'.repeat(70 * 1024)}` });
  expectOAuthError(t, { ...huge, json: parseJson(huge.text) }, 413, 'invalid_request');

  // None of the refusals above spent the code.
  t.equal((await postToken(server.url, grant)).status, 200);
});

t.test('authorize: an unknown client or redirect URI gets a page, never a redirect', async (t) => {
  const server = await startServer(t);
  const { challenge } = createPkce();
  const cases: [string, Record<string, string | undefined>][] = [
    ['an unregistered redirect_uri', { redirect_uri: 'http://evil.test/login/callback' }],
    ['a longer path than the registered one', { redirect_uri: `${CALLBACK}/extra` }],
    ['a trailing slash', { redirect_uri: `${CALLBACK}/` }],
    ['a query added', { redirect_uri: `${CALLBACK}?next=/` }],
    ['localhost for 127.0.0.1', { redirect_uri: 'http://localhost:5173/login/callback' }],
    ['no redirect_uri', { redirect_uri: undefined }],
    ['an unknown client_id', { client_id: 'other-client' }],
    ['no client_id', { client_id: undefined }],
  ];
  for (const [name, overrides] of cases) {
    t.test(name, async (t) => {
      const url = authorizeUrl(server.url, authorizeParams(challenge, { ...overrides, state: undefined }));
      for (const method of ['GET', 'POST']) {
        const answer = await send(url, method === 'GET' ? {} : { method, form: { user_id: server.users[0]?.id_str ?? '', action: 'approve' } });
        t.equal(answer.status, 400, method);
        t.equal(answer.headers.get('location'), null, `${method}: no redirect`);
        t.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
        t.notMatch(answer.text, /type="radio"/, 'no consent form');
        t.notMatch(answer.text, 'evil.test');
      }
    });
  }
  t.test('a repeated redirect_uri', async (t) => {
    const answer = await send(`${authorizeUrl(server.url, authorizeParams(challenge))}&redirect_uri=${encodeURIComponent('http://evil.test/cb')}`);
    t.equal(answer.status, 400);
    t.equal(answer.headers.get('location'), null);
  });
  t.test('no allowedCallbacks: no redirect URI is registered', async (t) => {
    const own = await startServer(t, { allowedCallbacks: undefined });
    const answer = await send(authorizeUrl(own.url, authorizeParams(challenge)));
    t.equal(answer.status, 400);
    t.equal(answer.headers.get('location'), null);
  });
});

t.test('authorize: other faults go back to the registered redirect URI', async (t) => {
  const server = await startServer(t);
  const { challenge } = createPkce();
  const expectRedirectError = async (t: Test, overrides: Record<string, string | undefined>, error: string, state: string | null) => {
    const url = authorizeUrl(server.url, authorizeParams(challenge, overrides));
    for (const method of ['GET', 'POST']) {
      const answer = await send(url, method === 'GET' ? {} : { method, form: { user_id: server.users[0]?.id_str ?? '', action: 'approve' } });
      t.equal(answer.status, 302, method);
      const location = new URL(answer.headers.get('location') ?? '');
      t.equal(`${location.origin}${location.pathname}`, CALLBACK);
      t.equal(location.searchParams.get('error'), error);
      t.type(location.searchParams.get('error_description'), 'string');
      t.equal(location.searchParams.get('state'), state);
      t.equal(location.searchParams.get('code'), null, 'no code');
    }
  };
  t.test('missing state', (t) => expectRedirectError(t, { state: undefined }, 'invalid_request', null));
  t.test('empty state counts as missing', (t) => expectRedirectError(t, { state: '' }, 'invalid_request', null));
  t.test('state over 500 characters', (t) => expectRedirectError(t, { state: 'x'.repeat(501) }, 'invalid_request', 'x'.repeat(501)));
  t.test('an unknown scope', (t) => expectRedirectError(t, { scope: 'tweet.read users.read profile' }, 'invalid_scope', 'state-123'));
  t.test('openid is not an X scope', (t) => expectRedirectError(t, { scope: 'openid users.read' }, 'invalid_scope', 'state-123'));
  t.test('scope without users.read', (t) => expectRedirectError(t, { scope: 'tweet.read users.email' }, 'invalid_scope', 'state-123'));
  t.test('scope separated by commas', (t) => expectRedirectError(t, { scope: 'tweet.read,users.read' }, 'invalid_scope', 'state-123'));
  t.test('scope with two spaces', (t) => expectRedirectError(t, { scope: 'tweet.read  users.read' }, 'invalid_scope', 'state-123'));
  t.test('no scope', (t) => expectRedirectError(t, { scope: undefined }, 'invalid_request', 'state-123'));
  t.test('response_type token', (t) => expectRedirectError(t, { response_type: 'token' }, 'unsupported_response_type', 'state-123'));
  t.test('no response_type', (t) => expectRedirectError(t, { response_type: undefined }, 'invalid_request', 'state-123'));
  t.test('code_challenge_method plain', (t) => expectRedirectError(t, { code_challenge_method: 'plain' }, 'invalid_request', 'state-123'));
  t.test('no code_challenge_method (plain by default, RFC 7636 §4.3)', (t) =>
    expectRedirectError(t, { code_challenge_method: undefined }, 'invalid_request', 'state-123'));
  t.test('no code_challenge', (t) => expectRedirectError(t, { code_challenge: undefined }, 'invalid_request', 'state-123'));
  t.test('a code_challenge of 42 characters', (t) => expectRedirectError(t, { code_challenge: challenge.slice(1) }, 'invalid_request', 'state-123'));
  t.test('a code_challenge with padding', (t) => expectRedirectError(t, { code_challenge: `${challenge.slice(1)}=` }, 'invalid_request', 'state-123'));

  t.test('a repeated parameter', async (t) => {
    const answer = await send(`${authorizeUrl(server.url, authorizeParams(challenge))}&scope=users.read`);
    const location = new URL(answer.headers.get('location') ?? '');
    t.equal(location.searchParams.get('error'), 'invalid_request');
    t.equal(location.searchParams.get('state'), 'state-123');
  });
  t.test('a state of exactly 500 characters is fine', async (t) => {
    const state = 'y'.repeat(500);
    const approved = await approve(server.url, { state });
    t.equal(new URL(approved.location).searchParams.get('state'), state);
    t.not(approved.code, '');
  });
});

t.test('the consent form: cancel, and what it refuses', async (t) => {
  const server = await startServer(t);
  const { challenge } = createPkce();
  const pageUrl = authorizeUrl(server.url, authorizeParams(challenge, { state: 'keep me' }));

  const cancelled = await decide(pageUrl, { action: 'cancel' });
  t.equal(cancelled.answer.status, 302);
  t.equal(cancelled.location, `${CALLBACK}?error=access_denied&state=keep%20me`);
  t.equal(new URL(cancelled.location).searchParams.get('state'), 'keep me');

  const post = (form: Record<string, string>) => send(pageUrl, { method: 'POST', form });
  const expectPage = (t: Test, answer: Answer, text: RegExp) => {
    t.equal(answer.status, 400);
    t.equal(answer.headers.get('location'), null);
    t.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
    t.match(answer.text, text);
  };
  expectPage(t, await post({ user_id: '42', action: 'approve' }), /Unknown account/);
  expectPage(t, await post({ action: 'approve' }), /Unknown account/);
  expectPage(t, await post({ user_id: server.users[0]?.id_str ?? '', action: 'delete' }), /Unknown action/);
  expectPage(t, await post({}), /Unknown action/);
});

t.test('/2/users/me refuses a missing, bad, expired, revoked or foreign token', async (t) => {
  let skew = 0;
  const users = createDefaultSandboxUsers();
  const server = await startServer(t, { users, now: () => Date.now() + skew });
  const expectUnauthorized = async (t: Test, answer: Promise<Awaited<ReturnType<typeof usersMe>>>) => {
    const settled = await answer;
    t.equal(settled.status, 401);
    t.equal(settled.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.same(settled.json, UNAUTHORIZED);
  };
  const tokens = await signIn(server.url);

  t.test('no Authorization header', (t) => expectUnauthorized(t, usersMe(server.url, undefined)));
  t.test('an unknown token', (t) => expectUnauthorized(t, usersMe(server.url, 'not-a-token')));
  t.test('the token with one character changed', (t) =>
    expectUnauthorized(t, usersMe(server.url, `${tokens.access_token.slice(0, -1)}${tokens.access_token.endsWith('A') ? 'B' : 'A'}`)));
  t.test('a Basic header', async (t) => {
    const answer = await send(`${server.url}${OAUTH2_PATHS.usersMe}`, { headers: { authorization: basic() } });
    t.equal(answer.status, 401);
    t.same(parseJson(answer.text), UNAUTHORIZED);
  });
  t.test('the code instead of the token', async (t) => {
    const approved = await approve(server.url);
    await expectUnauthorized(t, usersMe(server.url, approved.code));
  });
  t.test('a refresh token instead of an access token', async (t) => {
    const offline = await signIn(server.url, { scope: 'tweet.read users.read offline.access' });
    await expectUnauthorized(t, usersMe(server.url, offline.refresh_token));
  });
  t.test('the scheme in lower case is fine', async (t) => {
    const answer = await send(`${server.url}${OAUTH2_PATHS.usersMe}`, { headers: { authorization: `bearer ${tokens.access_token}` } });
    t.equal(answer.status, 200);
  });
  t.test('expired after two hours', async (t) => {
    const fresh = await signIn(server.url);
    skew = 7200 * 1000 - 1000;
    t.equal((await usersMe(server.url, fresh.access_token)).status, 200, 'still valid a second before');
    skew = 7200 * 1000 + 1000;
    await expectUnauthorized(t, usersMe(server.url, fresh.access_token));
    skew = 0;
  });
  t.test('revoked', async (t) => {
    const fresh = await signIn(server.url);
    t.same((await revoke(server.url, { token: fresh.access_token })).json, { revoked: true });
    await expectUnauthorized(t, usersMe(server.url, fresh.access_token));
  });
  t.test('the user was removed', async (t) => {
    const fresh = await signIn(server.url, { userId: users[2]?.id_str ?? '' });
    users.pop();
    await expectUnauthorized(t, usersMe(server.url, fresh.access_token));
  });
  t.test('a token without tweet.read: 403', async (t) => {
    const narrow = await signIn(server.url, { scope: 'users.read' });
    const answer = await usersMe(server.url, narrow.access_token);
    t.equal(answer.status, 403);
    t.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.same(answer.json, { title: 'Forbidden', type: 'about:blank', status: 403, detail: 'Forbidden' });
  });
});

t.test('/2/users/me checks its query as API v2 does', async (t) => {
  const server = await startServer(t);
  const tokens = await signIn(server.url);
  const unknownField = await usersMe(server.url, tokens.access_token, 'user.fields=confirmed_email,email');
  t.equal(unknownField.status, 400);
  t.match(unknownField.json, {
    errors: [{ parameters: { 'user.fields': ['email'] }, message: /^The `user.fields` query parameter value \[email\] is not one of \[/ }],
    title: 'Invalid Request',
    detail: 'One or more parameters to your request was invalid.',
    type: 'https://api.twitter.com/2/problems/invalid-request',
  });
  const unknownParameter = await usersMe(server.url, tokens.access_token, 'user_fields=confirmed_email');
  t.equal(unknownParameter.status, 400);
  t.match(unknownParameter.json, { errors: [{ parameters: { user_fields: ['confirmed_email'] }, message: /^The query parameter \[user_fields\] is not one of/ }] });
  const repeated = await usersMe(server.url, tokens.access_token, 'user.fields=id&user.fields=name');
  t.equal(repeated.status, 400);
  const spaced = await usersMe(server.url, tokens.access_token, 'user.fields=id,%20name');
  t.equal(spaced.status, 400, 'no spaces in the list');
  const known = await usersMe(server.url, tokens.access_token, 'user.fields=created_at,description,id,name,username');
  t.equal(known.status, 200, 'fields the sandbox does not hold are accepted and left out');
  t.same(Object.keys((known.json.data ?? {}) as object), ['id', 'name', 'username']);
});

t.test('confirmed_email: only with users.email, only for a confirmed address, only when asked', async (t) => {
  const users = createDefaultSandboxUsers();
  const server = await startServer(t, { users });
  const [alice, bob, carol] = users as [SandboxUser, SandboxUser, SandboxUser];
  const withEmailScope = 'tweet.read users.read users.email';
  const dataOf = async (userId: string, scope: string, query = 'user.fields=confirmed_email') => {
    const tokens = await signIn(server.url, { userId, scope });
    return (await usersMe(server.url, tokens.access_token, query)).json.data as Record<string, unknown>;
  };

  t.equal((await dataOf(alice.id_str, withEmailScope)).confirmed_email, alice.email);
  t.notOk('confirmed_email' in (await dataOf(alice.id_str, LOGIN_SCOPE)), 'without users.email, none even when asked');
  t.notOk('confirmed_email' in (await dataOf(alice.id_str, withEmailScope, 'user.fields=id')), 'not asked, none');
  t.notOk('confirmed_email' in (await dataOf(carol.id_str, withEmailScope)), 'a user without an email');
  bob.email_confirmed = false;
  t.notOk('confirmed_email' in (await dataOf(bob.id_str, withEmailScope)), 'a user whose address is not confirmed');
  bob.email_confirmed = true;
  t.equal((await dataOf(bob.id_str, withEmailScope)).confirmed_email, bob.email, 'read live, as the users array is');
});

t.test('revoke: client authentication, and what it refuses', async (t) => {
  const server = await startServer(t);
  const tokens = await signIn(server.url);

  const noAuth = await revoke(server.url, { token: tokens.access_token }, null);
  expectOAuthError(t, noAuth, 401, 'invalid_client');
  t.match(noAuth.headers.get('www-authenticate'), /^Basic /);
  expectOAuthError(t, await revoke(server.url, { token: tokens.access_token }, basic(CLIENT.id, 'wrong')), 401, 'invalid_client');
  t.equal((await usersMe(server.url, tokens.access_token)).status, 200, 'a refused revocation revokes nothing');

  expectOAuthError(t, await revoke(server.url, {}), 400, 'invalid_request');
  expectOAuthError(t, await revoke(server.url, { token: tokens.access_token, token_type_hint: 'id_token' }), 400, 'unsupported_token_type');
  t.equal((await usersMe(server.url, tokens.access_token)).status, 200);

  const unknown = await revoke(server.url, { token: 'never-issued' });
  t.equal(unknown.status, 200, 'RFC 7009 §2.2: an unknown token is no error');
  t.same(unknown.json, { revoked: true });

  // A hint that names the wrong type is only a hint.
  t.same((await revoke(server.url, { token: tokens.access_token, token_type_hint: 'refresh_token' })).json, { revoked: true });
  t.equal((await usersMe(server.url, tokens.access_token)).status, 401);
});

t.test('both protocols under roost\'s prefix in another app; each route keeps its own error shape', async (t) => {
  const app = Fastify();
  const users = createDefaultSandboxUsers();
  const prefix = '/sandbox/twitter';
  await app.register(sandboxProvider, {
    prefix,
    consumerKey: 'k',
    consumerSecret: 's',
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    allowedCallbacks: [CALLBACK],
    users,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}${prefix}`;

  const tokens = await signIn(base);
  t.equal((await usersMe(base, tokens.access_token)).status, 200);

  const oauth1 = await send(`${base}/oauth/request_token`, { method: 'POST' });
  t.equal(oauth1.status, 400);
  t.same(parseJson(oauth1.text), { errors: [{ code: 215, message: 'Bad Authentication data.' }] }, 'the 1.0a side answers as Twitter');
  t.equal((await send(`${base}/oauth/authenticate?oauth_token=unknown`)).status, 400);

  const pageUrl = authorizeUrl(base, authorizeParams(createPkce().challenge));
  const hugeForm = await send(pageUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${'x'.repeat(70 * 1024)}` });
  t.equal(hugeForm.status, 413);
  t.equal(hugeForm.headers.get('content-type'), 'text/html; charset=utf-8', 'the consent route answers unreadable bodies with a page');
  t.equal(hugeForm.headers.get('location'), null);
  const badRevoke = await send(`${base}${OAUTH2_PATHS.revoke}`, { method: 'POST', headers: { authorization: basic(), 'content-type': 'application/json' }, body: '{' });
  t.equal(badRevoke.status, 400);
  t.same(parseJson(badRevoke.text), { error: 'invalid_request', error_description: 'The request body could not be read.' });
});

t.test('an internal failure tells nothing', async (t) => {
  const users = createDefaultSandboxUsers();
  const server = await startServer(t, { users });
  const tokens = await signIn(server.url);
  Object.defineProperty(users[0], 'name', {
    get() {
      throw new Error('secret internals');
    },
  });
  const answer = await usersMe(server.url, tokens.access_token);
  t.equal(answer.status, 500);
  t.same(answer.json, { title: 'Internal Server Error', type: 'about:blank', status: 500, detail: 'Internal Server Error' });
  t.notMatch(answer.text, /secret internals/);
  const page = await send(authorizeUrl(server.url, authorizeParams(createPkce().challenge)));
  t.equal(page.status, 500, 'the consent page fails as a page');
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.notMatch(page.text, /secret internals/);
});

t.test('clientId and clientSecret go together', async (t) => {
  await t.rejects(startSandboxServer({ consumerKey: 'k', consumerSecret: 's', users: [], clientId: CLIENT.id }), /clientId and clientSecret together/);
  await t.rejects(startSandboxServer({ consumerKey: 'k', consumerSecret: 's', users: [], clientSecret: CLIENT.secret }), /clientId and clientSecret together/);
});
