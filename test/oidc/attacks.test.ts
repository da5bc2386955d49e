// The OpenID Connect provider under attack, over real HTTP (Postgres, Redis,
// the sandbox X): a hostile client, a hostile website and a thief of tokens
// try open redirects, parameter pollution, code and refresh-token injection
// across clients, PKCE downgrades, forged logout hints, cross-site logout,
// token confusion between roost's own API and the provider's, banned users,
// races, markup in pages and secrets in the trace log. Each test asserts the
// safe behaviour.
import t, { type Test } from 'tap';
import { createHash, createHmac, createPublicKey, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startRoost, type Roost } from '../helpers/roost.js';
import { Browser, fragmentOf, readConsentForm, type Hop } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { browserCookie } from '../../src/oidc/browser-sessions.js';
import { ADMIN_KEYS, admin } from '../helpers/admin-roost.js';
import { json, newWebhookSecret, startWebhookReceiver } from '../helpers/webhook-receiver.js';

const RP = 'https://rp.test';
const WEB_SECRET = 'web-client-secret-0123456789abcdefghij';
const OTHER_SECRET = 'other-client-secret-0123456789abcdefgh';
const MARKUP_NAME = '<img src=x onerror=alert(1)>"\'&';
const CLIENTS = [
  { client_id: 'web', client_secret: WEB_SECRET, redirect_uris: [`${RP}/cb`, `${RP}/cb?tenant=a`], post_logout_redirect_uris: [`${RP}/bye`] },
  { client_id: 'other', client_secret: OTHER_SECRET, redirect_uris: [`${RP}/cb`, 'https://other.test/cb'], post_logout_redirect_uris: ['https://other.test/bye'] },
  { client_id: 'spa', redirect_uris: [`${RP}/spa`, 'http://127.0.0.1/native', 'http://[::1]/native'], post_logout_redirect_uris: [`${RP}/bye`] },
  { client_id: 'marked', name: MARKUP_NAME, redirect_uris: ['https://marked.test/cb'], post_logout_redirect_uris: ['https://marked.test/bye'] },
];
const HOOK_CLAIMS = { tenant: 'acme-hook-claim', roles: ['editor'] };
const PAGE = { accept: 'text/html' };

/** Every token, code, cookie and secret the attacks handled: none may reach the trace log. */
const secrets = new Set<string>([WEB_SECRET, OTHER_SECRET, ...ADMIN_KEYS]);
const keep = (...values: Array<string | null | undefined>) => {
  for (const value of values) if (value) secrets.add(value);
};

const hookSecret = newWebhookSecret();
keep(hookSecret);
const hook = await startWebhookReceiver(t, hookSecret);
keep(hook.credential);
hook.answer(json(200, { allow: true, claims: HOOK_CLAIMS }));

// One clock the tests may move forward (code expiry, max_age, an expired hint); X itself keeps real time.
let skewMs = 0;
// One roost over OAuth 1.0a for nearly everything, and one over OAuth 2.0 for the same flows (started together).
const [roost, two] = await Promise.all([
  startRoost(t, {
    now: () => Date.now() + skewMs,
    env: {
      OIDC_CLIENTS: JSON.stringify(CLIENTS),
      LOG_LEVEL: 'trace',
      ADMIN_API_KEYS: ADMIN_KEYS.join(','),
      ADMIN_RATE_LIMIT: '100000',
      SIGN_IN_HOOK_URL: hook.url,
      SIGN_IN_HOOK_SECRET: hookSecret,
    },
  }),
  startRoost(t, { protocol: 'oauth2', env: { OIDC_CLIENTS: JSON.stringify(CLIENTS) } }),
]);
const SSO = 'roost_sso';

let serial = 0;
/** A person who never signed in before, so that what a test does to them touches no other test: their index at X's consent page. */
function newUser(on: Roost = roost): number {
  serial += 1;
  on.users.push({
    id_str: `13500000000000${String(serial).padStart(5, '0')}`,
    screen_name: `target_${serial}`,
    name: `Target ${serial}`,
    email: `target${serial}@example.com`,
    email_confirmed: true,
    profile_image_url_https: null,
  });
  return on.users.length - 1;
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  keep(verifier);
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(params: Record<string, string>, on: Roost = roost): string {
  return `${on.url}/authorize?${new URLSearchParams(params)}`;
}

/** roost's answer at its callback, the last time a browser came back from X. */
let lastCallback: Hop | undefined;

/** The browser through /authorize, X's consent page and the callback; where roost finally sends it. */
async function throughX(browser: Browser, url: string, user = 0, on: Roost = roost): Promise<URL> {
  const first = await browser.get(url);
  if (first.status !== 302 || !first.location) throw new Error(`/authorize answered ${first.status}: ${first.body}`);
  if (!first.location.startsWith(on.providerUrl)) return new URL(first.location);
  const page = await browser.get(first.location);
  const form = readConsentForm(page.body);
  const decision = await browser.postForm(new URL(form.action ?? '', first.location).href, { ...form.hidden, user_id: on.users[user]?.id_str as string, action: 'approve' });
  const back = await browser.get(decision.location as string);
  lastCallback = back;
  if (back.status !== 302 || !back.location) throw new Error(`the callback answered ${back.status}: ${back.body}`);
  return new URL(back.location);
}

interface Grant {
  readonly code: string;
  readonly verifier: string;
  readonly redirectUri: string;
}

/** A code for `clientId` in `browser` (through X, or at once with a browser session). */
async function codeFor(browser: Browser, clientId: string, options: { redirectUri?: string; scope?: string; user?: number; extra?: Record<string, string>; on?: Roost } = {}): Promise<Grant> {
  const { verifier, challenge } = pkce();
  const redirectUri = options.redirectUri ?? (clientId === 'spa' ? `${RP}/spa` : clientId === 'marked' ? 'https://marked.test/cb' : `${RP}/cb`);
  const back = await throughX(
    browser,
    authorizeUrl(
      { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: options.scope ?? 'openid profile email offline_access', code_challenge: challenge, code_challenge_method: 'S256', ...options.extra },
      options.on,
    ),
    options.user ?? 0,
    options.on,
  );
  const code = back.searchParams.get('code');
  if (code === null) throw new Error(`no code: ${back.href}`);
  keep(code, browser.cookies.get(SSO));
  return { code, verifier, redirectUri };
}

function basic(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` };
}
const CREDENTIALS: Record<string, { body?: Record<string, string>; headers?: Record<string, string> }> = {
  web: { headers: basic('web', WEB_SECRET) },
  other: { body: { client_id: 'other', client_secret: OTHER_SECRET } },
  spa: { body: { client_id: 'spa' } },
  marked: { body: { client_id: 'marked' } },
  own: {},
};

interface TokenAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, string>;
}

async function token(form: Record<string, string>, headers: Record<string, string> = {}, on: Roost = roost): Promise<TokenAnswer> {
  const response = await fetch(`${on.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
  const body = (await response.json()) as Record<string, string>;
  keep(body.access_token, body.refresh_token, body.id_token);
  return { status: response.status, headers: response.headers, body };
}

/** Redeems a code as `as` (a registered client's credentials, or roost's own app with none). */
function redeem(grant: Grant, as: string, overrides: Record<string, string | undefined> = {}, on: Roost = roost): Promise<TokenAnswer> {
  const credentials = CREDENTIALS[as] ?? {};
  const form: Record<string, string> = {};
  for (const [name, value] of Object.entries({ grant_type: 'authorization_code', code: grant.code, redirect_uri: grant.redirectUri, code_verifier: grant.verifier, ...credentials.body, ...overrides })) {
    if (value !== undefined) form[name] = value;
  }
  return token(form, credentials.headers, on);
}

function refresh(refreshToken: string, as: string, on: Roost = roost): Promise<TokenAnswer> {
  const credentials = CREDENTIALS[as] ?? {};
  return token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...credentials.body }, credentials.headers, on);
}

async function tokensFor(browser: Browser, clientId: string, options: Parameters<typeof codeFor>[2] = {}): Promise<Record<string, string>> {
  const grant = await codeFor(browser, clientId, options);
  const answer = await redeem(grant, clientId, {}, options.on);
  if (answer.status !== 200) throw new Error(`the code was not redeemed: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function userinfoStatus(accessToken: string, on: Roost = roost): Promise<number> {
  return (await fetch(`${on.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

/** Where /authorize sends a browser with a session at roost and prompt=none: a code, or login_required. */
async function silent(browser: Browser, clientId = 'web'): Promise<URLSearchParams> {
  const { challenge } = pkce();
  const hop = await browser.get(
    authorizeUrl({ client_id: clientId, redirect_uri: clientId === 'spa' ? `${RP}/spa` : `${RP}/cb`, response_type: 'code', scope: 'openid', prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256' }),
  );
  if (hop.status !== 302 || !hop.location) throw new Error(`/authorize answered ${hop.status}`);
  keep(new URL(hop.location).searchParams.get('code'));
  return new URL(hop.location).searchParams;
}

function isPage(t: Test, hop: Hop, what: string): void {
  t.equal(hop.status, 400, `${what}: a page`);
  t.equal(hop.location, null, `${what}: never a redirect`);
}

function clearsSso(hop: Hop): boolean {
  return hop.headers.getSetCookie().some((line) => line.startsWith(`${SSO}=`));
}

t.test('redirect_uri: only the registered string, character for character', async (t) => {
  const browser = new Browser();
  const { challenge } = pkce();
  const ask = (clientId: string, redirectUri: string) =>
    browser.get(authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }), PAGE);
  for (const candidate of [
    `${RP}/cb/`,
    `${RP}/CB`,
    'https://RP.test/cb',
    'HTTPS://rp.test/cb',
    `${RP}/%63b`,
    `${RP}/cb?`,
    `${RP}/cb#`,
    `${RP}/cb#x`,
    `${RP}/cb?x=1`,
    `${RP}/cb?tenant=a&x=1`,
    `${RP}/cb?tenant=A`,
    `${RP}//cb`,
    `${RP}/./cb`,
    `${RP}/x/../cb`,
    `${RP}:443/cb`,
    'https://user@rp.test/cb',
    'https://rp.test@evil.test/cb',
    'https://rp.test\\@evil.test/cb',
    'https://rp.test\\.evil.test/cb',
    'https://evil.test\\rp.test/cb',
    'https://rp.test.evil.test/cb',
    'https://rp.test%2f@evil.test/cb',
    ` ${RP}/cb`,
    `${RP}/cb `,
    `${RP}/cb\t`,
    `${RP}/cb%00`,
    '//rp.test/cb',
    '/cb',
    'http://rp.test/cb',
    'https://xn--rp-test/cb',
  ]) {
    isPage(t, await ask('web', candidate), `web with ${JSON.stringify(candidate)}`);
  }
  // Another client's registered URI is not this client's.
  isPage(t, await ask('web', 'https://other.test/cb'), "another client's redirect URI");
  isPage(t, await ask('spa', `${RP}/cb`), "a confidential client's redirect URI for a public client");

  // RFC 8252 §7.3: any port on a loopback IP entry, nothing else about it relaxed.
  const accepted = async (redirectUri: string) => {
    const hop = await ask('spa', redirectUri);
    return hop.status === 302 && hop.location !== null && hop.location.startsWith(roost.providerUrl);
  };
  t.ok(await accepted('http://127.0.0.1:53124/native'), 'a loopback port is free');
  t.ok(await accepted('http://[::1]:53124/native'), 'on IPv6 too');
  for (const candidate of [
    'http://localhost:53124/native',
    'http://localhost/native',
    'http://127.0.0.2:53124/native',
    'http://127.1:53124/native',
    'http://2130706433:53124/native',
    'http://0x7f000001:53124/native',
    'http://[0:0:0:0:0:0:0:1]:53124/native',
    'http://[::ffff:127.0.0.1]:53124/native',
    'https://127.0.0.1:53124/native',
    'http://127.0.0.1:53124/native/',
    'http://127.0.0.1:53124/Native',
    'http://127.0.0.1:53124/native?x=1',
    'http://127.0.0.1:53124@evil.test/native',
    'http://127.0.0.1:53124#@evil.test/native',
    'http://evil.test#@127.0.0.1/native',
    'http://127.0.0.1:99999/native',
    'http://127.0.0.1:-1/native',
    'http://127.0.0.1:+80/native',
    'http://127.0.0.1:80:80/native',
    'http://127.0.0.1.evil.test:80/native',
    'http://127.0.0.1:53124\\@evil.test/native',
  ]) {
    t.notOk(await accepted(candidate), `loopback ${JSON.stringify(candidate)} is refused`);
  }
});

t.test('post_logout_redirect_uri: only the client’s registered string', async (t) => {
  const browser = new Browser();
  for (const [clientId, candidate] of [
    ['web', `${RP}/bye/`],
    ['web', `${RP}/BYE`],
    ['web', `${RP}/bye?x=1`],
    ['web', `${RP}/bye#x`],
    ['web', 'https://rp.test@evil.test/bye'],
    ['web', 'https://rp.test\\@evil.test/bye'],
    ['web', 'https://other.test/bye'],
    ['other', `${RP}/bye`],
    ['spa', 'http://127.0.0.1:8080/bye'],
  ] as const) {
    isPage(t, await browser.get(`${roost.url}/end_session?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: candidate })}`, PAGE), `${clientId} logging out to ${candidate}`);
  }
  isPage(t, await browser.get(`${roost.url}/end_session?${new URLSearchParams({ post_logout_redirect_uri: `${RP}/bye` })}`, PAGE), 'a destination without a client');
  const registered = await browser.postForm(`${roost.url}/end_session`, { client_id: 'web', post_logout_redirect_uri: `${RP}/bye`, confirm: 'yes' });
  t.equal(registered.location, `${RP}/bye`, 'the registered one is followed');
});

t.test('parameter pollution: each parameter once, one source per request', async (t) => {
  const browser = new Browser();
  const { challenge } = pkce();
  const base = `response_type=code&scope=openid&code_challenge=${challenge}&code_challenge_method=S256&state=s`;
  const cb = encodeURIComponent(`${RP}/cb`);
  isPage(t, await browser.get(`${roost.url}/authorize?client_id=web&client_id=other&redirect_uri=${cb}&${base}`, PAGE), 'client_id twice');
  isPage(t, await browser.get(`${roost.url}/authorize?client_id=web&redirect_uri=${cb}&redirect_uri=${encodeURIComponent('https://evil.test/')}&${base}`, PAGE), 'redirect_uri twice');
  isPage(t, await browser.get(`${roost.url}/authorize?client_id=web&redirect_uri=${cb}&redirect_uri=${cb}&${base}`, PAGE), 'the same redirect_uri twice');
  isPage(t, await browser.get(`${roost.url}/authorize?client_id=web&redirect_uri=&${base}`, PAGE), 'an empty redirect_uri');
  isPage(t, await browser.get(`${roost.url}/authorize?client_id=web&redirect_uri[]=${cb}&${base}`, PAGE), 'redirect_uri[]');

  for (const name of ['response_type', 'scope', 'code_challenge', 'nonce', 'prompt', 'max_age', 'state']) {
    const hop = await browser.get(`${roost.url}/authorize?client_id=web&redirect_uri=${cb}&${base}&${name}=x&${name}=y`);
    const to = new URL(hop.location as string);
    t.equal(to.origin + to.pathname, `${RP}/cb`, `${name} twice: back to the client`);
    t.equal(to.searchParams.get('error'), 'invalid_request', `${name} twice is refused`);
  }

  // POST reads its form only: a query cannot add to or override it.
  const mixed = await browser.request(`${roost.url}/authorize?redirect_uri=${encodeURIComponent('https://evil.test/cb')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...PAGE },
    body: `client_id=web&${base}`,
  });
  isPage(t, mixed, 'POST with redirect_uri only in the query');
  const override = await browser.request(`${roost.url}/authorize?redirect_uri=${encodeURIComponent('https://evil.test/cb')}&state=evil`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `client_id=web&redirect_uri=${cb}&${base}`,
  });
  t.ok(override.location?.startsWith(roost.providerUrl), 'POST goes on with its own form');
  t.notOk(override.location?.includes('evil'), 'nothing of the query is used');
  const logoutMixed = await browser.request(`${roost.url}/end_session?post_logout_redirect_uri=${encodeURIComponent('https://evil.test/')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'client_id=web&confirm=yes',
  });
  t.equal(logoutMixed.location, null, 'a logout form never takes its destination from the query');
  const logoutTwice = await browser.get(`${roost.url}/end_session?client_id=web&client_id=other&post_logout_redirect_uri=${encodeURIComponent(`${RP}/bye`)}`, PAGE);
  isPage(t, logoutTwice, 'client_id twice at /end_session');
});

t.test('state and nonce: printable ASCII only, never reflected raw', async (t) => {
  const browser = new Browser();
  const { challenge } = pkce();
  const ask = (extra: Record<string, string>) =>
    browser.get(authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...extra }));
  for (const [what, extra] of [
    ['a state of 513 characters', { state: 'a'.repeat(513) }],
    ['CR LF in state', { state: 'a\r\nSet-Cookie: roost_sso=x' }],
    ['NUL in state', { state: 'a\u0000b' }],
    ['non-ASCII state', { state: 'é' }],
    ['a nonce of 513 characters', { nonce: 'n'.repeat(513) }],
    ['a tab in nonce', { nonce: 'a\tb' }],
  ] as const) {
    const hop = await ask(extra);
    t.equal(hop.status, 302, what);
    const to = new URL(hop.location as string);
    t.equal(to.origin + to.pathname, `${RP}/cb`, `${what}: the error goes to the client`);
    t.equal(to.searchParams.get('error'), 'invalid_request', `${what} is refused`);
    t.notOk(hop.location?.includes('\n') || hop.location?.includes('\r'), `${what}: no line break in Location`);
    if (extra.state !== undefined) t.equal(to.searchParams.get('state'), null, `${what} is not sent back`);
    t.notOk(hop.headers.getSetCookie().some((line) => line.startsWith(`${SSO}=x`)), 'no header injected');
  }
  const markup = `"><script>alert(1)</script>&amp;'`;
  const hop = await ask({ state: markup, response_type: 'token' });
  t.equal(new URL(hop.location as string).searchParams.get('state'), markup, 'a state with markup goes back encoded in the URL, exactly');
  t.notOk(hop.location?.includes('<'), 'and only encoded');

  // The logout question echoes state and the client's name in a page: escaped.
  const question = await browser.get(`${roost.url}/end_session?${new URLSearchParams({ client_id: 'marked', post_logout_redirect_uri: 'https://marked.test/bye', state: markup })}`);
  t.equal(question.status, 200);
  t.notOk(question.body.includes('<script>') || question.body.includes('<img'), 'no markup from the request or the client’s name');
  t.match(question.body, /&#60;img src=x onerror=alert\(1\)&#62;&#34;&#39;&#38;/, 'the name is shown escaped');
  t.match(question.headers.get('content-security-policy'), /default-src 'none'/);
  t.match(question.headers.get('content-security-policy'), /frame-ancestors 'none'/, 'the question cannot be framed (clickjacking)');
  t.equal(question.headers.get('cache-control'), 'no-store');
});

t.test('PKCE cannot be downgraded or stripped', async (t) => {
  const browser = new Browser();
  const noChallenge = await browser.get(authorizeUrl({ client_id: 'spa', redirect_uri: `${RP}/spa`, response_type: 'code', scope: 'openid', state: 'p' }));
  t.equal(new URL(noChallenge.location as string).searchParams.get('error'), 'invalid_request', 'a public client without a challenge');
  const { challenge } = pkce();
  for (const method of ['plain', 's256', 'S512', '']) {
    const hop = await browser.get(authorizeUrl({ client_id: 'spa', redirect_uri: `${RP}/spa`, response_type: 'code', scope: 'openid', code_challenge: challenge, ...(method ? { code_challenge_method: method } : {}) }));
    t.equal(new URL(hop.location as string).searchParams.get('error'), 'invalid_request', `code_challenge_method ${JSON.stringify(method)}`);
  }
  const verifierAsChallenge = await browser.get(authorizeUrl({ client_id: 'spa', redirect_uri: `${RP}/spa`, response_type: 'code', scope: 'openid', code_challenge: 'a'.repeat(64), code_challenge_method: 'S256' }));
  t.equal(new URL(verifierAsChallenge.location as string).searchParams.get('error'), 'invalid_request', 'a challenge that is no S256 hash');

  // A challenge was sent: the verifier is required, from every kind of client.
  const web = await codeFor(browser, 'web');
  const noVerifier = await redeem(web, 'web', { code_verifier: undefined });
  t.equal(noVerifier.body.error, 'invalid_grant', 'a confidential client that sent a challenge must send the verifier');
  t.equal((await redeem(web, 'web')).body.error, 'invalid_grant', 'and the code is spent');
  const spa = await codeFor(browser, 'spa');
  t.equal((await redeem(spa, 'spa', { code_verifier: undefined })).body.error, 'invalid_request', 'a public client without its verifier');
  t.equal((await redeem(spa, 'spa', { code_verifier: pkce().verifier })).body.error, 'invalid_grant', 'a wrong verifier');
  t.equal((await redeem(spa, 'spa')).body.error, 'invalid_grant', 'and spent by it: the right verifier comes too late');

  // No challenge was sent: a verifier is refused rather than ignored.
  const bare = await throughX(browser, authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid' }));
  const plainCode = bare.searchParams.get('code') as string;
  keep(plainCode);
  t.equal((await redeem({ code: plainCode, verifier: pkce().verifier, redirectUri: `${RP}/cb` }, 'web')).body.error, 'invalid_grant', 'a verifier without a challenge');
});

t.test('codes: bound to their client, their redirect_uri, 60 seconds and one redemption', async (t) => {
  const browser = new Browser();
  const web = await codeFor(browser, 'web');
  t.equal((await redeem(web, 'other')).body.error, 'invalid_grant', 'another confidential client with the same redirect URI');
  const spa = await codeFor(browser, 'spa');
  const unauthenticated = await redeem(spa, 'own');
  t.ok(['invalid_client', 'invalid_grant'].includes(unauthenticated.body.error as string) && !unauthenticated.body.access_token, "roost's own code redemption (no client) cannot take a client's code");
  const spa2 = await codeFor(browser, 'spa');
  t.equal((await redeem(spa2, 'marked')).body.error, 'invalid_grant', 'another public client');
  const spa3 = await codeFor(browser, 'spa');
  const unknownClient = await redeem(spa3, 'own', { client_id: 'nobody' });
  t.equal(unknownClient.status, 400, 'an unknown client_id is roost’s own app, which cannot take it');
  const looped = await codeFor(browser, 'spa', { redirectUri: 'http://127.0.0.1:40001/native' });
  t.equal((await redeem(looped, 'spa', { redirect_uri: 'http://127.0.0.1:40002/native' })).body.error, 'invalid_grant', 'another loopback port at /token');

  // roost's own PKCE code, redeemed by a registered client.
  const own = pkce();
  const ownHop = await signIn(new Browser(), roost, { returnTo: 'http://app.test/cb', loginQuery: { code_challenge: own.challenge, code_challenge_method: 'S256' } });
  const ownCode = new URL(ownHop.location as string).searchParams.get('code') as string;
  keep(ownCode);
  t.equal((await redeem({ code: ownCode, verifier: own.verifier, redirectUri: 'http://app.test/cb' }, 'spa')).body.error, 'invalid_grant', "roost's own code for a registered client");

  // A confidential client must authenticate: its client_id alone is not enough, even without PKCE.
  const bare = await throughX(browser, authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid' }));
  const bareCode = bare.searchParams.get('code') as string;
  keep(bareCode);
  const idOnly = await token({ grant_type: 'authorization_code', code: bareCode, redirect_uri: `${RP}/cb`, client_id: 'web' });
  t.equal(idOnly.body.error, 'invalid_client', 'client_id without the secret');
  const wrongSecret = await token({ grant_type: 'authorization_code', code: bareCode, redirect_uri: `${RP}/cb`, client_id: 'web', client_secret: OTHER_SECRET });
  t.equal(wrongSecret.body.error, 'invalid_client', "another client's secret");
  const ownPath = await token({ grant_type: 'authorization_code', code: bareCode, redirect_uri: `${RP}/cb` });
  t.equal(ownPath.status, 400, "roost's own redemption, without credentials");
  t.equal((await redeem({ code: bareCode, verifier: '', redirectUri: `${RP}/cb` }, 'web', { code_verifier: undefined })).status, 200, 'the code survived all that: refused before it was spent');

  const late = await codeFor(browser, 'web');
  skewMs = 61_000;
  try {
    t.equal((await redeem(late, 'web')).body.error, 'invalid_grant', 'a code 61 seconds old');
  } finally {
    skewMs = 0;
  }

  // Two redemptions at once: at most one gets tokens, and those end with the replay.
  const raced = await codeFor(browser, 'web');
  const answers = await Promise.all([redeem(raced, 'web'), redeem(raced, 'web'), redeem(raced, 'web')]);
  const won = answers.filter((answer) => answer.status === 200);
  t.ok(won.length <= 1, 'one redemption at most');
  for (const answer of won) t.equal(await userinfoStatus(answer.body.access_token as string), 401, 'the session a replayed code opened ends');
});

t.test('refresh tokens: bound to their client, never interchangeable with the browser session', async (t) => {
  const browser = new Browser();
  const tokens = await tokensFor(browser, 'web');
  const sso = browser.cookies.get(SSO) as string;
  t.type(tokens.refresh_token, 'string');
  for (const as of ['other', 'spa']) {
    t.equal((await refresh(tokens.refresh_token as string, as)).body.error, 'invalid_grant', `web's refresh token as ${as}`);
  }
  const unauthenticated = await refresh(tokens.refresh_token as string, 'own');
  t.ok(['invalid_client', 'invalid_grant'].includes(unauthenticated.body.error as string) && !unauthenticated.body.access_token, "web's refresh token without client authentication");
  t.equal((await refresh(sso, 'web')).body.error, 'invalid_grant', 'the browser session cookie is no refresh token');
  t.equal((await refresh(sso, 'own')).body.error, 'invalid_grant', "nor one of roost's own");
  const still = await refresh(tokens.refresh_token as string, 'web');
  t.equal(still.status, 200, 'failed attempts by others do not end the session');

  // A refresh token as the browser session cookie.
  const thief = new Browser();
  thief.cookies.set(SSO, still.body.refresh_token as string);
  t.equal((await silent(thief)).get('error'), 'login_required', 'a refresh token is no browser session');
  const forged = new Browser();
  forged.cookies.set(SSO, randomBytes(32).toString('base64url'));
  t.equal((await silent(forged)).get('error'), 'login_required', 'nor a made-up value');

  // roost's own refresh token at a registered client.
  const own = fragmentOf((await signIn(new Browser(), roost)).location);
  keep(own.get('access_token'), own.get('refresh_token'));
  t.equal((await refresh(own.get('refresh_token') as string, 'spa')).body.error, 'invalid_grant', "roost's own refresh token for a public client");
  t.equal((await refresh(own.get('refresh_token') as string, 'web')).body.error, 'invalid_grant', 'or a confidential one');
  t.equal((await refresh(own.get('refresh_token') as string, 'own')).status, 200, 'and it still works for roost’s own app');

  // A refresh cannot widen what was granted.
  const narrow = await tokensFor(new Browser(), 'web', { scope: 'openid offline_access' });
  const widened = await token({ grant_type: 'refresh_token', refresh_token: narrow.refresh_token as string, scope: 'openid profile email offline_access' }, CREDENTIALS.web?.headers);
  if (widened.status === 200) {
    t.equal(widened.body.scope, 'openid offline_access', 'the scope of a refresh stays the granted one');
    t.notOk('email' in decodeJwt(widened.body.id_token as string) || 'preferred_username' in decodeJwt(widened.body.id_token as string), 'no claim of a scope not granted');
    const info = (await (await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${widened.body.access_token as string}` } })).json()) as Record<string, unknown>;
    t.same(Object.keys(info), ['sub'], 'UserInfo answers the granted scope only');
  } else {
    t.equal(widened.body.error, 'invalid_request', 'or the request is refused');
  }

  // The claims parameter asks for nothing the scope did not grant (it is not supported, and ignored).
  const { challenge: c2, verifier: v2 } = pkce();
  const claimsAsked = await browser.get(
    authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid', code_challenge: c2, code_challenge_method: 'S256', claims: JSON.stringify({ id_token: { email: null, name: { essential: true } }, userinfo: { email: null } }) }),
  );
  const claimsCode = new URL(claimsAsked.location as string).searchParams.get('code') as string;
  keep(claimsCode);
  const claimsTokens = await redeem({ code: claimsCode, verifier: v2, redirectUri: `${RP}/cb` }, 'web');
  const idClaims = decodeJwt(claimsTokens.body.id_token as string);
  t.notOk('email' in idClaims || 'name' in idClaims, 'the claims parameter adds nothing to the ID token');
  const claimsInfo = (await (await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${claimsTokens.body.access_token as string}` } })).json()) as Record<string, unknown>;
  t.same(Object.keys(claimsInfo), ['sub'], 'nor to UserInfo');

  // A refresh token with no offline_access is never handed out.
  const noOffline = await tokensFor(new Browser(), 'web', { scope: 'openid profile' });
  t.notOk(noOffline.refresh_token, 'no refresh token without offline_access');
});

t.test("a client's access token is for /userinfo, not roost's own API", async (t) => {
  const user = newUser();
  const browser = new Browser();
  const tokens = await tokensFor(browser, 'other', { user });
  const own = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  keep(own.get('access_token'), own.get('refresh_token'));
  const ownBearer = { authorization: `Bearer ${own.get('access_token') as string}` };
  const listSessions = async () => ((await (await fetch(`${roost.url}/sessions`, { headers: ownBearer })).json()) as { sessions: Array<{ id: string; current: boolean }> }).sessions;
  const before = await listSessions();
  // The browser session: neither roost's own app's session nor the client's.
  const target = before.find((session) => !session.current && session.id !== decodeJwt(tokens.access_token as string).sid);
  t.ok(target, 'the person has a browser session');

  t.equal(await userinfoStatus(tokens.access_token as string), 200, 'UserInfo takes it');
  const bearer = { authorization: `Bearer ${tokens.access_token as string}` };
  t.equal((await fetch(`${roost.url}/me`, { headers: bearer })).status, 401, 'GET /me refuses it');
  t.equal((await fetch(`${roost.url}/sessions`, { headers: bearer })).status, 401, 'GET /sessions (devices, addresses) refuses it');
  t.equal((await fetch(`${roost.url}/sessions/${target?.id as string}`, { method: 'DELETE', headers: bearer })).status, 401, 'DELETE /sessions/{id} refuses it');
  t.equal((await fetch(`${roost.url}/me`, { method: 'DELETE', headers: bearer })).status, 401, 'DELETE /me (the account) refuses it');
  t.equal(await userinfoStatus(tokens.access_token as string), 200, 'the account is still there');
  t.equal((await listSessions()).length, before.length, 'and every session of it');

  // The other way round, and the other tokens.
  t.equal(await userinfoStatus(own.get('access_token') as string), 401, "roost's own access token at /userinfo");
  t.equal(await userinfoStatus(tokens.id_token as string), 401, 'an ID token at /userinfo');
  t.equal((await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${tokens.id_token as string}` } })).status, 401, 'an ID token at /me');
  const query = await fetch(`${roost.url}/userinfo?access_token=${tokens.access_token as string}`);
  t.equal(query.status, 401, 'a token in the query is not read');
});

t.test('forged, foreign and confused id_token_hint', async (t) => {
  const browser = new Browser();
  const tokens = await tokensFor(browser, 'web');
  const idToken = tokens.id_token as string;
  const [header, payload] = idToken.split('.') as [string, string];
  const claims = decodeJwt(idToken);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jwks = (await (await fetch(`${roost.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
  const rsa = jwks.keys.find((key) => key.alg === 'RS256') as Record<string, string>;
  const pem = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  const hs256 = (secret: string | Buffer) => {
    const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: rsa.kid })}.${payload}`;
    return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
  };
  const forgeries: Array<[string, string]> = [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`],
    ['alg none with the kid', `${b64({ alg: 'none', typ: 'JWT', kid: rsa.kid })}.${payload}.`],
    ['HS256 with the PEM public key as secret', hs256(pem)],
    ['HS256 with the JWK as secret', hs256(JSON.stringify(rsa))],
    ['HS256 with n as secret', hs256(Buffer.from(rsa.n as string, 'base64url'))],
    ['another payload under the signature', `${header}.${b64({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })}.${idToken.split('.')[2]}`],
    ['an access token', tokens.access_token as string],
    ['a JWE-looking token', `${header}.${payload}.a.b.c`],
  ];
  for (const [what, hint] of forgeries) {
    const hop = await browser.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: hint, post_logout_redirect_uri: `${RP}/bye` })}`, PAGE);
    isPage(t, hop, what);
    t.notOk(clearsSso(hop), `${what}: the browser session cookie stays`);
  }
  t.equal(await userinfoStatus(tokens.access_token as string), 200, 'no forged hint ended the session');
  t.ok(browser.cookies.has(SSO));

  const otherClient = await browser.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: idToken, client_id: 'other', post_logout_redirect_uri: 'https://other.test/bye' })}`, PAGE);
  isPage(t, otherClient, "web's ID token with client_id=other");
  const crossDestination = await browser.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://other.test/bye' })}`, PAGE);
  isPage(t, crossDestination, "web's ID token with other's destination");
  t.equal(await userinfoStatus(tokens.access_token as string), 200, 'nothing ended');

  // An expired ID token is still a hint (§2): it ends its session. (Checked with the clock still ahead:
  // a session ended at a time roost's clock has not reached is, once the clock is back, not ended yet.)
  skewMs = (roost.config.accessTokenTtl + 120) * 1000;
  try {
    const expired = await browser.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: `${RP}/bye`, state: 'z' })}`);
    t.equal(expired.location, `${RP}/bye?state=z`, 'an expired hint is accepted');
    t.equal((await refresh(tokens.refresh_token as string, 'web')).body.error, 'invalid_grant', 'and its session ended');
    t.notOk(browser.cookies.has(SSO), 'with the browser session');
  } finally {
    skewMs = 0;
  }
});

t.test('cross-site logout: a hint for someone else, or no cookie, leaves the browser session alone', async (t) => {
  // The attacker signs in with their own account and keeps the ID token.
  const attacker = await tokensFor(new Browser(), 'web', { user: 1 });
  // The victim is signed in at roost.
  const victim = new Browser();
  const victimTokens = await tokensFor(victim, 'spa', { user: 0 });
  const cookieBefore = victim.cookies.get(SSO);

  // A foreign site navigates the victim to /end_session with the attacker's hint.
  const forced = await victim.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: attacker.id_token as string })}`);
  t.equal(forced.status, 200);
  t.equal(await userinfoStatus(victimTokens.access_token as string), 200, "the victim's sessions did not end");
  t.notOk(clearsSso(forced), "the victim's browser session cookie is not cleared by someone else's hint");
  victim.cookies.set(SSO, cookieBefore as string);
  t.ok((await silent(victim, 'spa')).get('code'), 'the victim is still signed in at roost');

  // A cross-site form POST carries no SameSite=Lax cookie: it must not clear it either.
  const crossSite = await fetch(`${roost.url}/end_session`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.test' },
    body: new URLSearchParams({ confirm: 'yes' }),
  });
  t.notOk(
    crossSite.headers.getSetCookie().some((line) => line.startsWith(`${SSO}=`)),
    'a confirmation without the cookie does not clear it (a browser applies Set-Cookie to a top-level cross-site POST)',
  );
  // GET with confirm=yes is still only the question.
  const getConfirm = await victim.get(`${roost.url}/end_session?confirm=yes`);
  t.equal(getConfirm.status, 200);
  t.match(getConfirm.body, /<form method="post"/);
  t.ok(victim.cookies.has(SSO), 'a GET never ends the browser session without a hint');
});

t.test('signing out: a code issued before it opens no session after it', async (t) => {
  const browser = new Browser();
  const tokens = await tokensFor(browser, 'web');
  // Another app's code, issued by the browser session a moment before the person signs out.
  const inFlight = await codeFor(browser, 'spa');
  const out = await browser.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: tokens.id_token as string, post_logout_redirect_uri: `${RP}/bye` })}`);
  t.equal(out.location, `${RP}/bye`);
  t.equal(await userinfoStatus(tokens.access_token as string), 401, 'the sessions of the browser session ended');
  const late = await redeem(inFlight, 'spa');
  t.equal(late.body.error, 'invalid_grant', 'the code of a browser session that ended is refused');
  if (late.status === 200) t.equal(await userinfoStatus(late.body.access_token as string), 401, 'or its session is born ended');

  // The same when the person ends the browser session from their session list.
  const user = newUser();
  const second = new Browser();
  const web = await tokensFor(second, 'web', { user });
  const pending = await codeFor(second, 'spa', { user });
  const own = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  keep(own.get('access_token'), own.get('refresh_token'));
  const bearer = { authorization: `Bearer ${own.get('access_token') as string}` };
  const list = (await (await fetch(`${roost.url}/sessions`, { headers: bearer })).json()) as { sessions: Array<{ id: string; current: boolean }> };
  const webSid = decodeJwt(web.id_token as string).sid;
  const browserSession = list.sessions.filter((session) => !session.current && session.id !== webSid);
  t.equal(browserSession.length, 1, 'the browser session is listed');
  t.equal((await fetch(`${roost.url}/sessions/${browserSession[0]?.id as string}`, { method: 'DELETE', headers: bearer })).status, 204, 'and ended by its user');
  t.equal((await silent(second)).get('error'), 'login_required', 'it signs no one in any more');
  const afterRevoke = await redeem(pending, 'spa');
  t.equal(afterRevoke.body.error, 'invalid_grant', 'a code it issued before is refused');
});

t.test('banned users: no code from the browser session, none redeemed, no UserInfo', async (t) => {
  const browser = new Browser();
  const user = newUser();
  const tokens = await tokensFor(browser, 'web', { user });
  const pending = await codeFor(browser, 'spa', { user });
  const sub = decodeJwt(tokens.id_token as string).sub as string;
  const ban = await admin(roost, 'POST', `/admin/users/${sub}/ban`, { body: { reason: 'abuse' } });
  t.equal(ban.status, 200);
  t.equal((await silent(browser)).get('error'), 'login_required', 'the browser session no longer answers');
  t.equal((await redeem(pending, 'spa')).body.error, 'invalid_grant', 'a code issued before the ban');
  t.equal(await userinfoStatus(tokens.access_token as string), 401, 'UserInfo');
  t.equal((await refresh(tokens.refresh_token as string, 'web')).body.error, 'invalid_grant', 'refresh');
  const again = await throughX(new Browser(), authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid', state: 'b' }), user);
  t.equal(again.searchParams.get('error'), 'access_denied', 'a new sign-in at X is refused');
  t.equal(again.searchParams.get('state'), 'b');
  await admin(roost, 'POST', `/admin/users/${sub}/unban`);
  t.equal((await silent(browser)).get('error'), 'login_required', 'lifting the ban does not bring the browser session back');
});

t.test('prompt and max_age at their edges', async (t) => {
  const browser = new Browser();
  await tokensFor(browser, 'web');
  const ask = (extra: Record<string, string>) => {
    const { challenge } = pkce();
    return browser.get(authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...extra }));
  };
  const toX = (hop: Hop) => hop.location?.startsWith(roost.providerUrl) === true;
  const error = (hop: Hop) => (hop.location?.startsWith(RP) ? new URL(hop.location).searchParams.get('error') : undefined);
  t.ok(toX(await ask({ max_age: '0' })), 'max_age=0 is a new sign-in');
  t.equal(error(await ask({ max_age: '0', prompt: 'none' })), 'login_required');
  for (const bad of ['-1', '1.5', '1e3', '+5', ' 5', '0x10', '99999999999', 'NaN', 'Infinity']) {
    t.equal(error(await ask({ max_age: bad })), 'invalid_request', `max_age=${bad}`);
  }
  skewMs = 10_000;
  try {
    t.ok(toX(await ask({ max_age: '5' })), 'a sign-in older than max_age goes to X');
    t.ok((await ask({ max_age: '3600', prompt: 'none' })).location?.includes('code='), 'a recent one answers at once');
  } finally {
    skewMs = 0;
  }
  for (const bad of ['none login', 'none none', 'bogus', 'login bogus']) t.equal(error(await ask({ prompt: bad })), 'invalid_request', `prompt=${bad}`);
  for (const prompt of ['login', 'consent', 'select_account', 'login consent']) t.ok(toX(await ask({ prompt })), `prompt=${prompt} goes to X`);

  // prompt=login replaces the browser session: the old cookie value is dead, the new one is fresh.
  const old = browser.cookies.get(SSO) as string;
  await throughX(browser, authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid', prompt: 'login' }));
  keep(browser.cookies.get(SSO));
  t.not(browser.cookies.get(SSO), old, 'a new browser session');
  const stale = new Browser();
  stale.cookies.set(SSO, old);
  t.equal((await silent(stale)).get('error'), 'login_required', 'the replaced one no longer signs anyone in');

  // A value planted before the sign-in is never adopted.
  const planted = randomBytes(32).toString('base64url');
  const fixated = new Browser();
  fixated.cookies.set(SSO, planted);
  await tokensFor(fixated, 'web');
  t.not(fixated.cookies.get(SSO), planted, 'the browser session cookie is always new');
  const set = lastCallback?.headers.getSetCookie().find((line) => line.startsWith(`${SSO}=`)) ?? '';
  t.match(set, /; HttpOnly/i, 'HttpOnly');
  t.match(set, /; SameSite=Lax/i, 'SameSite=Lax');
  t.match(set, /; Path=\//i, 'Path=/');
  t.notMatch(set, /; Domain=/i, 'no Domain: this host only');
  const secure = browserCookie('https://auth.example.com');
  t.equal(secure.name, '__Host-roost_sso', 'over https the name is __Host- prefixed');
  t.equal(secure.options.secure, true, 'and Secure');
});

t.test('the sign-in hook’s claims stay in the access token', async (t) => {
  const browser = new Browser();
  const tokens = await tokensFor(browser, 'web');
  t.match(decodeJwt(tokens.access_token as string), HOOK_CLAIMS, 'the access token has them');
  const id = decodeJwt(tokens.id_token as string);
  t.notOk('tenant' in id || 'roles' in id, 'the ID token has none of them');
  const info = (await (await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token as string}` } })).json()) as Record<string, unknown>;
  t.notOk('tenant' in info || 'roles' in info, 'nor UserInfo');
  // Through the browser session (no new trip to X), and after a refresh.
  const sso = await codeFor(browser, 'spa');
  const second = await redeem(sso, 'spa');
  t.notOk('tenant' in decodeJwt(second.body.id_token as string), 'nor an ID token from the browser session');
  const refreshed = await refresh(tokens.refresh_token as string, 'web');
  t.notOk('tenant' in decodeJwt(refreshed.body.id_token as string), 'nor a refreshed ID token');
});

t.test('races: refresh against logout', async (t) => {
  const browser = new Browser();
  const tokens = await tokensFor(browser, 'web');
  const [refreshed] = await Promise.all([
    refresh(tokens.refresh_token as string, 'web'),
    browser.get(`${roost.url}/end_session?${new URLSearchParams({ id_token_hint: tokens.id_token as string })}`),
  ]);
  if (refreshed.status === 200) {
    t.equal((await refresh(refreshed.body.refresh_token as string, 'web')).body.error, 'invalid_grant', 'the refresh token a racing refresh got is dead');
    t.equal(await userinfoStatus(refreshed.body.access_token as string), 401, 'and its access token too');
  }
  t.equal(await userinfoStatus(tokens.access_token as string), 401);
});

t.test('huge inputs are refused early, and every answer is kept out of caches', async (t) => {
  const browser = new Browser();
  const big = await fetch(`${roost.url}/authorize`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=web&x=${'a'.repeat(9000)}` });
  t.equal(big.status, 413, 'a large form');
  t.equal(big.headers.get('cache-control'), 'no-store');
  const long = await fetch(`${roost.url}/authorize?client_id=web&x=${'a'.repeat(20_000)}`);
  t.equal(long.status, 431, 'a long query');
  const bigHint = await fetch(`${roost.url}/end_session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `id_token_hint=${'a'.repeat(20_000)}` });
  t.equal(bigHint.status, 413);
  const hugeBearer = await fetch(`${roost.url}/userinfo`, { headers: { authorization: `Bearer ${'a'.repeat(9000)}` } });
  t.ok(hugeBearer.status === 400 || hugeBearer.status === 401, 'a huge bearer token');

  const answers: Array<[string, Response | Hop]> = [
    ['a redirect to X', await browser.get(authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid' }))],
    ['an error redirect', await browser.get(authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'token', scope: 'openid' }))],
    ['a page about an unknown client', await browser.get(authorizeUrl({ client_id: 'nobody', redirect_uri: `${RP}/cb` }), PAGE)],
    ['problem+json about an unknown client', await browser.get(authorizeUrl({ client_id: 'nobody', redirect_uri: `${RP}/cb` }))],
    ['POST /authorize that is not a form', await fetch(`${roost.url}/authorize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
    ['POST /authorize that is not a form, to a browser', await fetch(`${roost.url}/authorize`, { method: 'POST', headers: { 'content-type': 'text/plain', ...PAGE }, body: 'x' })],
    ['POST /end_session that is not a form', await fetch(`${roost.url}/end_session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
    ['the logout question', await browser.get(`${roost.url}/end_session`)],
    ['a bad hint', await browser.get(`${roost.url}/end_session?id_token_hint=x`, PAGE)],
    ['UserInfo refused', await fetch(`${roost.url}/userinfo`)],
    ['the token endpoint refusing', await fetch(`${roost.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=x' })],
  ];
  for (const [what, answer] of answers) t.equal(answer.headers.get('cache-control'), 'no-store', `${what}: no-store`);
});

t.test('OAuth 2.0 upstream: the same defences', async (t) => {
  const browser = new Browser();
  const grant = await codeFor(browser, 'web', { on: two, extra: { state: 'two-state', nonce: 'two-nonce' } });
  t.equal((await redeem(grant, 'other', {}, two)).body.error, 'invalid_grant', 'another client cannot redeem the code');
  const spaGrant = await codeFor(browser, 'spa', { on: two });
  const spaTokens = await redeem(spaGrant, 'spa', {}, two);
  t.equal(spaTokens.status, 200, 'the browser session answers another client at once');
  t.equal((await redeem(spaGrant, 'spa', {}, two)).body.error, 'invalid_grant', 'a replay');
  t.equal(await userinfoStatus(spaTokens.body.access_token as string, two), 401, 'ends what the code opened');
  const tokens = await tokensFor(new Browser(), 'web', { on: two, user: 1 });
  t.equal((await fetch(`${two.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token as string}` } })).status, 401, "the client's access token is refused at /me");
  t.equal((await refresh(tokens.refresh_token as string, 'other', two)).body.error, 'invalid_grant');

  // The flow cookie binds the callback to the browser that started it.
  const started = await new Browser().get(authorizeUrl({ client_id: 'web', redirect_uri: `${RP}/cb`, response_type: 'code', scope: 'openid', state: 'bound' }, two));
  const stranger = new Browser();
  const page = await stranger.get(started.location as string);
  const form = readConsentForm(page.body);
  const decision = await stranger.postForm(new URL(form.action ?? '', started.location as string).href, { ...form.hidden, user_id: two.users[0]?.id_str as string, action: 'approve' });
  const back = await stranger.get(decision.location as string);
  const to = new URL(back.location as string);
  t.equal(to.searchParams.get('error'), 'access_denied', 'a callback in another browser');
  t.equal(to.searchParams.get('code'), null, 'no code');
  t.notOk(stranger.cookies.has(SSO), 'and no browser session');
});

t.test('nothing secret reaches the trace log', async (t) => {
  const log = roost.rawLogs.join('\n');
  t.ok(roost.rawLogs.length > 100);
  let leaked = 0;
  for (const secret of secrets) {
    if (secret.length >= 16 && log.includes(secret)) {
      leaked += 1;
      t.fail(`a secret of ${secret.length} characters is in the log`);
    }
  }
  t.equal(leaked, 0, `none of ${secrets.size} secrets`);
  t.notOk(/"(authorization|cookie|set-cookie|location)":"(?!\[redacted\])/i.test(log), 'no header value');
  t.notOk(log.includes('id_token_hint='), 'no logout query');
});
