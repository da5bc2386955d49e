// A newcomer's first minute, in a real browser: roost started as the README's
// first command starts it (no configuration: embedded Postgres, in-process
// store, the sandbox Twitter), then headless Chromium opens the URL roost
// prints, signs in through the sandbox's consent page with the page's
// roost.js (a code and PKCE), and reads the token the page verified. The
// same page then signs in as roost-demo, the OpenID Connect client the
// zero-configuration sandbox registers, through /authorize.
// Screenshots go to test-artifacts/.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t from 'tap';
import { Browser as HttpClient, readConsentForm } from '../helpers/browser.js';
import { startNode } from '../helpers/child.js';
import { freePort, startRoost } from '../helpers/roost.js';
import { DEMO_CLIENT_ID } from '../../src/config.js';

const CHROMIUM = '/usr/bin/chromium';
/** The PKCE verifier of sign-ins made outside the page. */
const OTHER_VERIFIER = 'another-browser-s-verifier-'.padEnd(43, 'x');
const ARTIFACTS = path.resolve('test-artifacts');
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

if (!existsSync(CHROMIUM)) {
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser test`;
  // CI must never pass without having run the browser.
  if (inCi) t.fail(why);
  else t.plan(0, why);
} else {
  await browserTests();
}

async function browserTests(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'roost-browser-'));
  const profile = mkdtempSync(path.join(tmpdir(), 'roost-chromium-'));
  t.teardown(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });
  mkdirSync(ARTIFACTS, { recursive: true });

  const roost = startNode(t, ['--import', 'tsx', 'src/server.ts'], { PORT: String(await freePort()), DATA_DIR: dataDir });
  t.teardown(() => roost.stop());
  const url = (await roost.waitFor(/roost is ready at (http[^"\s]+)/))[1] as string;

  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1000, height: 800 },
  });
  t.teardown(() => context.close());
  const page: Page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  // Script errors and CSP violations surface here; the expected 401s of the tampered token are left out.
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) consoleErrors.push(message.text());
  });
  const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';
  const focused = () => page.evaluate('document.activeElement && document.activeElement.id');

  // Every POST /token the pages send, by grant type: which exchanges roost.js made.
  const grants: string[] = [];
  context.on('request', (request) => {
    if (request.method() === 'POST' && request.url().startsWith(`${url}/token`)) grants.push(new URLSearchParams(request.postData() ?? '').get('grant_type') ?? '');
  });
  const signInButton = () => page.getByRole('button', { name: 'Sign in with Twitter (sandbox)' });
  const storedRefresh = () => page.evaluate(`localStorage.getItem(${JSON.stringify(`roost:${url}:refresh_token`)})`);
  async function load(target: string): Promise<void> {
    // From another document: a change of the fragment alone would not load the page again.
    await page.goto('about:blank');
    await page.goto(target);
  }
  /** The page with no one signed in, whatever a test before left behind. */
  async function loadSignedOut(): Promise<void> {
    // Other tabs of a test before could refresh, and store a token again, after the clear.
    for (const other of context.pages()) if (other !== page) await other.close();
    await load(url);
    // A refresh the page started on load could also store its token after the clear: let it end first.
    await page.waitForLoadState('networkidle');
    await page.evaluate('localStorage.clear(); sessionStorage.clear()');
    await load(url);
    await signInButton().waitFor();
  }

  t.test('sign in: consent page, approve, a verified token and /me, a refresh, then sign out in two tabs', async (t) => {
    await loadSignedOut();
    t.equal(await storedRefresh(), null, 'no one is signed in yet');
    const before = grants.length;
    const exchanges = () => grants.slice(before);
    const login = page.waitForRequest((request) => request.url().startsWith(`${url}/login?`));
    await signInButton().click();
    const sent = new URL((await login).url()).searchParams;
    t.equal(sent.get('return_to'), `${url}/`, 'roost.js starts /login with the page as return_to');
    t.match(sent.get('state'), /^[\w-]{22}$/, 'a fresh state');
    t.equal(sent.get('code_challenge_method'), 'S256', 'and a PKCE challenge');
    t.match(sent.get('code_challenge'), /^[\w-]{43}$/);

    await page.waitForURL(/\/sandbox\/twitter\/oauth\/authenticate\?oauth_token=/);
    await page.getByRole('heading', { name: 'Authorize roost to use your account?' }).waitFor();
    await page.getByRole('radio', { name: /Bob Example/ }).check();
    const back = page.waitForRequest((request) => request.url().startsWith(`${url}/?`));
    await page.getByRole('button', { name: 'Approve' }).click();
    const answer = new URL((await back).url()).searchParams;
    t.match(answer.get('code'), /^[\w-]+$/, 'roost answers with a code, not tokens');
    t.equal(answer.get('state'), sent.get('state'), 'and the state');

    await page.getByRole('heading', { name: 'Signed in as Bob Example (@bob)' }).waitFor();
    t.equal(page.url(), `${url}/`, 'the code is gone from the address bar');
    t.same(exchanges(), ['authorization_code'], 'roost.js redeemed the code');
    await page.locator('#verified', { hasText: /^verified$/ }).waitFor();
    t.match(await text('#issuer-check'), /^matches/);
    await page.locator('#me-status', { hasText: '200' }).waitFor();
    t.match(JSON.parse(await text('#me')), { screen_name: 'bob', twitter_id: '1240000000000000002', email: 'bob@example.com' });
    t.equal(await focused(), 'signed-in-title', 'focus moves to the result for screen readers');

    // The page shows the real token: verify it independently and compare.
    const token = await text('#raw');
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`)), {
      issuer: url,
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    t.same(JSON.parse(await text('#claims')), payload, 'the claims shown are the token’s');
    t.same(JSON.parse(await text('#header')), protectedHeader, 'the header shown is the token’s');
    t.equal(payload.twitter_id, '1240000000000000002');
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-signed-in.png'), fullPage: true });

    // Refresh reloads the page: the access token was in memory only, so
    // roost.js trades the refresh token for a new pair of the same session.
    await page.getByRole('button', { name: 'Refresh token' }).click();
    // (A locator, not waitForFunction: the page's CSP forbids the eval that polling a function needs.)
    await page.locator('#raw', { hasText: /\./ }).filter({ hasNotText: token }).waitFor({ state: 'attached' }); // inside a closed <details>
    t.same(exchanges(), ['authorization_code', 'refresh_token'], 'one refresh at POST /token');
    await page.locator('#verified', { hasText: /^verified$/ }).waitFor();
    const latest = await text('#raw');
    const refreshed = JSON.parse(await text('#claims')) as Record<string, unknown>;
    t.not(refreshed.jti, payload.jti, 'Refresh shows a new token');
    t.equal(refreshed.sub, payload.sub, 'of the same user');
    t.equal(refreshed.sid, payload.sid, 'in the same session');
    await page.locator('#me-status', { hasText: '200' }).waitFor();

    // A second tab shares the session, and the sign-out.
    const other = await context.newPage();
    await other.goto(url);
    await other.getByRole('heading', { name: 'Signed in as Bob Example (@bob)' }).waitFor();
    const another = (await other.locator('#raw').textContent()) ?? '';

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signInButton().waitFor();
    t.equal(await page.getByRole('heading', { name: /Signed in as/ }).count(), 0, 'the signed-in view is gone');
    await page.locator('#status', { hasText: /^Signed out/ }).waitFor();
    t.equal(await text('#status'), 'Signed out: roost.js forgot the tokens here and asked roost to end the session (POST /logout).');
    await other.getByRole('button', { name: 'Sign in with Twitter (sandbox)' }).waitFor();
    t.equal(await other.locator('#raw').textContent(), '', 'the other tab is signed out too');
    await other.close();
    t.equal(await storedRefresh(), null, 'the refresh token is forgotten');
    for (const spent of [token, latest, another]) {
      const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${spent}` } });
      t.equal(me.status, 401, 'the ended session’s access tokens are refused');
      await me.arrayBuffer();
    }
    t.equal(await text('#raw'), '', 'the page no longer holds the token');
    t.equal(await focused(), 'sign-in');
    await load(url);
    await signInButton().waitFor();
    t.equal(await page.locator('#signed-in').isVisible(), false, 'after a reload, still signed out');
  });

  t.test('a token changed on its way from POST /token is shown as NOT verified, and /me refuses it', async (t) => {
    await loadSignedOut();
    // As a party between the page and roost would: one claim changed, the signature kept.
    await page.route(`${url}/token`, async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { access_token: string };
      const [header, claims, signature] = body.access_token.split('.') as [string, string, string];
      const forged = { ...JSON.parse(Buffer.from(claims, 'base64url').toString()), screen_name: 'mallory' };
      await route.fulfill({ response, json: { ...body, access_token: `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}` } });
    });
    t.teardown(() => page.unroute(`${url}/token`));
    await signInButton().click();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: /@mallory/ }).waitFor();
    await page.locator('#verified', { hasText: /^NOT verified/ }).waitFor();
    t.match(await text('#verified'), /the signature does not match/);
    await page.locator('#me-status', { hasText: '401' }).waitFor();
    t.match(JSON.parse(await text('#me')), { code: 'invalid_token' });
  });

  t.test('an answer the page did not ask for is refused, before any request (login CSRF at the app)', async (t) => {
    await loadSignedOut();
    const before = grants.length;
    for (const [name, query] of [
      ['tokens without a state', {}],
      ['tokens with another state', { state: 'guessed' }],
      ['a code with another state', { state: 'guessed', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }],
    ] as const) {
      // Someone else's real sign-in: its answer is sent to the victim as a link.
      const link = await answerOfAnotherSignIn(query);
      t.match(link, /^[^#?]+[#?](access_token|code)=/, `${name}: a real answer`);
      await load(link);
      await page.locator('#denied-text', { hasText: /was not started by this page/ }).waitFor();
      t.equal(await page.locator('#signed-in').isVisible(), false, `${name}: not signed in`);
      t.equal(await text('#raw'), '', `${name}: no token is shown`);
      t.equal(page.url(), `${url}/`, `${name}: and the answer is gone from the address bar`);
      t.equal(await storedRefresh(), null, `${name}: nothing is stored`);
    }
    t.equal(grants.length, before, 'the page sent no code to POST /token');
  });

  t.test('cancel at the consent page: back on the page with the denial and no token', async (t) => {
    await loadSignedOut();
    // Keyboard only: the sign-in button is the first stop.
    await page.keyboard.press('Tab');
    t.equal(await focused(), 'sign-in');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('heading', { name: 'Not signed in' }).waitFor();
    t.match(await text('#denied-text'), /You cancelled at the consent page.*access_denied/);
    t.equal(page.url(), `${url}/`, 'the error is gone from the address bar');
    t.equal(await focused(), 'denied-title');
    t.equal(await page.getByRole('heading', { name: /Signed in as/ }).count(), 0);
    t.ok(await signInButton().isVisible(), 'the user can try again');
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-cancelled.png'), fullPage: true });
  });

  const oidcSignInButton = () => page.getByRole('button', { name: 'Sign in with OpenID Connect' });
  const demoKey = `roost-demo:${url}:authorization`;
  const demoStored = () => page.evaluate(`sessionStorage.getItem(${JSON.stringify(demoKey)})`);
  const ssoCookie = async () => (await context.cookies(url)).find((cookie) => cookie.name === 'roost_sso');

  t.test('OpenID Connect: roost-demo signs in through /authorize, the page checks its ID token and shows /userinfo; the browser session answers the next sign-in; sign-out ends it', async (t) => {
    // The page's CSP lets it fetch from roost only (connect-src 'self'): every endpoint it calls is there.
    const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    t.equal(discovery.authorization_endpoint, `${url}/authorize`, 'the zero-configuration sandbox has the provider on');
    for (const name of ['token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) t.equal(new URL(discovery[name] ?? '').origin, url, name);
    await loadSignedOut();
    t.equal(await page.locator('#oidc-off').isVisible(), false, 'the page offers the OpenID Connect sign-in');
    const before = grants.length;
    const authorize = page.waitForRequest((request) => request.url().startsWith(`${url}/authorize?`));
    await oidcSignInButton().click();
    const sent = new URL((await authorize).url()).searchParams;
    t.match(Object.fromEntries(sent), {
      response_type: 'code',
      client_id: DEMO_CLIENT_ID,
      redirect_uri: `${url}/`,
      scope: 'openid profile email',
      state: /^[\w-]{22}$/,
      nonce: /^[\w-]{22}$/,
      code_challenge: /^[\w-]{43}$/,
      code_challenge_method: 'S256',
    }, 'a standard authorization request: PKCE, state and nonce');
    t.not(sent.get('nonce'), sent.get('state'));
    t.match(JSON.parse(String(await demoStored())), { state: sent.get('state'), nonce: sent.get('nonce'), verifier: /^[\w-]{43}$/ }, 'kept in sessionStorage meanwhile');

    await page.getByRole('heading', { name: 'Authorize roost to use your account?' }).waitFor();
    await page.getByRole('radio', { name: /Bob Example/ }).check();
    const back = page.waitForRequest((request) => request.url().startsWith(`${url}/?`));
    const redeemed = page.waitForRequest((request) => request.method() === 'POST' && request.url() === `${url}/token`);
    const tokenAnswer = page.waitForResponse((response) => response.request().method() === 'POST' && response.url() === `${url}/token`);
    await page.getByRole('button', { name: 'Approve' }).click();
    const answer = new URL((await back).url()).searchParams;
    t.same([...answer.keys()], ['code', 'state', 'iss'], 'the answer of /authorize: a code, the state and the issuer');
    t.equal(answer.get('state'), sent.get('state'));
    t.equal(answer.get('iss'), url);

    await page.getByRole('heading', { name: 'Signed in to roost-demo as Bob Example (@bob)' }).waitFor();
    t.equal(page.url(), `${url}/`, 'the answer is gone from the address bar');
    t.equal(await demoStored(), null, 'what the demo sent is read once');
    const body = new URLSearchParams((await redeemed).postData() ?? '');
    t.same([...body.keys()].sort(), ['client_id', 'code', 'code_verifier', 'grant_type', 'redirect_uri'], 'redeemed as a public client: client_id and the verifier, no secret');
    t.match(Object.fromEntries(body), { grant_type: 'authorization_code', code: answer.get('code'), redirect_uri: `${url}/`, client_id: DEMO_CLIENT_ID });
    t.equal(createHash('sha256').update(body.get('code_verifier') ?? '').digest('base64url'), sent.get('code_challenge'), 'the verifier of the challenge sent');
    t.same(grants.slice(before), ['authorization_code'], 'one POST /token');

    for (const check of ['verified', 'issuer-check', 'audience-check', 'nonce-check', 'expiry-check', 'at-hash-check']) {
      await page.locator(`#oidc-${check}.ok`).waitFor();
    }
    t.equal(await text('#oidc-verified'), 'verified');
    t.equal(await text('#oidc-alg'), 'RS256');
    t.equal(await text('#oidc-nonce-check'), 'the one this tab sent');
    // The ID token the page was given, verified apart from the page: the claims shown are its.
    const tokens = (await (await tokenAnswer).json()) as { id_token: string; access_token: string };
    const { payload } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`)), { issuer: url, audience: DEMO_CLIENT_ID, algorithms: ['RS256'] });
    t.same(JSON.parse(await text('#oidc-claims')), payload);
    t.match(payload, { nonce: sent.get('nonce'), preferred_username: 'bob', name: 'Bob Example', email: 'bob@example.com', email_verified: true, sid: /./ });
    await page.locator('#oidc-userinfo-status', { hasText: '200' }).waitFor();
    t.equal(await text('#oidc-userinfo-status'), '→ 200, the same sub as the ID token');
    t.same(JSON.parse(await text('#oidc-userinfo')), { sub: payload.sub, name: 'Bob Example', preferred_username: 'bob', profile: 'https://x.com/bob', email: 'bob@example.com', email_verified: true, ...(payload.picture === undefined ? {} : { picture: payload.picture }) });
    t.equal(await focused(), 'oidc-result-title', 'focus moves to the result');
    t.equal(await storedRefresh(), null, 'roost.js took no part: nothing stored');
    t.ok(await signInButton().isVisible(), 'and its section still offers its own sign-in');
    t.equal(await page.locator('#denied').isVisible(), false, 'roost.js did not read the answer as its own');
    t.ok(await ssoCookie(), 'roost keeps a browser session');
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-oidc-signed-in.png'), fullPage: true });

    // Once more: the browser session answers, with no trip to the sandbox.
    const sandboxTrips: string[] = [];
    const onRequest = (request: { url(): string }) => { if (request.url().includes('/sandbox/')) sandboxTrips.push(request.url()); };
    page.on('request', onRequest);
    await oidcSignInButton().click();
    await page.locator('#oidc-claims', { hasNotText: String(payload.nonce) }).filter({ hasText: /"nonce"/ }).waitFor();
    page.off('request', onRequest);
    t.same(sandboxTrips, [], 'no consent page the second time');
    const again = JSON.parse(await text('#oidc-claims')) as Record<string, unknown>;
    t.equal(again.sub, payload.sub, 'the same person');
    t.equal(again.auth_time, payload.auth_time, 'signed in at X at the same time');
    t.not(again.sid, payload.sid, 'in a session of its own');
    await page.locator('#oidc-at-hash-check.ok').waitFor();
    await page.locator('#oidc-userinfo-status', { hasText: '200' }).waitFor();

    // Sign-out: roost's end_session with the ID token as hint, then roost's own page.
    await page.getByRole('button', { name: 'Sign out at roost' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    const logout = new URL(page.url());
    t.equal(`${logout.origin}${logout.pathname}`, `${url}/end_session`);
    t.equal(logout.searchParams.get('client_id'), DEMO_CLIENT_ID);
    t.same((await jwtVerify(logout.searchParams.get('id_token_hint') ?? '', createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`)), { issuer: url, audience: DEMO_CLIENT_ID })).payload.sid, again.sid, 'the hint is the last ID token');
    t.equal(await ssoCookie(), undefined, 'the browser session is over');
    const userinfo = await fetch(`${url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    t.equal(userinfo.status, 401, 'and so is the first sign-in\'s session: its access token is refused');
    await userinfo.arrayBuffer();
  });

  t.test('OpenID Connect: an answer the demo did not ask for (none started, another state, another issuer) is refused before any request', async (t) => {
    await loadSignedOut();
    const before = grants.length;
    const cases = [
      { name: 'no sign-in started here', started: false, iss: undefined, refusal: /was not started by this page \(its state does not match\)/ },
      { name: 'a code for another state', started: true, iss: undefined, refusal: /was not started by this page \(its state does not match\)/ },
      { name: 'the state sent, another issuer', started: true, iss: 'https://elsewhere.example', refusal: /names another issuer \(iss=https:\/\/elsewhere\.example, not http/ },
    ];
    for (const { name, started, iss, refusal } of cases) {
      let state = 'guessed';
      if (started) {
        // A sign-in started here, left at the consent page.
        const authorize = page.waitForRequest((request) => request.url().startsWith(`${url}/authorize?`));
        await oidcSignInButton().click();
        const sent = new URL((await authorize).url()).searchParams;
        await page.getByRole('heading', { name: 'Authorize roost to use your account?' }).waitFor();
        // A mix-up (RFC 9700 §4.4) knows the state; a forged link does not.
        if (iss !== undefined) state = sent.get('state') ?? '';
      }
      // Someone else's real sign-in for roost-demo: its answer is sent to the victim as a link.
      const real = new URL(await answerOfAnotherOidcSignIn(state));
      t.ok(real.searchParams.has('code'), `${name}: a real code`);
      if (iss !== undefined) real.searchParams.set('iss', iss);
      await load(real.href);
      await page.locator('#oidc-status', { hasText: refusal }).waitFor();
      t.equal(await page.locator('#oidc-result').isVisible(), false, `${name}: not signed in`);
      t.equal(page.url(), `${url}/`, `${name}: the answer is gone from the address bar`);
      t.equal(await demoStored(), null, `${name}: what the demo sent is spent`);
      t.equal(await page.locator('#denied').isVisible(), false, `${name}: roost.js did not take it for its own`);
      t.equal(await focused(), 'oidc-title', `${name}: focus moves to the refusal`);
    }
    t.equal(grants.length, before, 'the page sent no code to POST /token');

    // Someone else's tokens in answer to this tab's code (token injection):
    // signed by roost, for roost-demo, but not with the nonce this tab sent.
    const link = new URL(await answerOfAnotherOidcSignIn('theirs'));
    const injected = await fetch(`${url}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: link.searchParams.get('code') ?? '', redirect_uri: `${url}/`, client_id: DEMO_CLIENT_ID, code_verifier: OTHER_VERIFIER }),
    });
    t.equal(injected.status, 200);
    const theirs = await injected.json();
    await page.route(`${url}/token`, (route) => route.fulfill({ json: theirs }));
    t.teardown(() => page.unroute(`${url}/token`));
    const asked: string[] = [];
    const onRequest = (request: { url(): string }) => { if (request.url().startsWith(`${url}/userinfo`)) asked.push(request.url()); };
    page.on('request', onRequest);
    await oidcSignInButton().click();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: /^Refused: the ID token of .* failed a check/ }).waitFor();
    await page.locator('#oidc-nonce-check.bad').waitFor();
    t.equal(await text('#oidc-nonce-check'), 'does NOT match the one this tab sent');
    for (const check of ['verified', 'issuer-check', 'audience-check', 'expiry-check', 'at-hash-check']) t.ok(await page.locator(`#oidc-${check}.ok`).isVisible(), `${check}: the rest of the token is sound`);
    t.equal(await text('#oidc-userinfo-status'), '(not asked: the ID token failed a check)');
    page.off('request', onRequest);
    t.same(asked, [], 'no call to /userinfo');
    t.equal(await page.getByRole('button', { name: 'Sign out at roost' }).count(), 0, 'nothing to sign out of');
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-oidc-refused.png'), fullPage: true });
  });

  t.test('with JWT_ALG=EdDSA or RS256 the page verifies the token with that algorithm; without OpenID Connect clients, the page says how to register one', async (t) => {
    for (const alg of ['EdDSA', 'RS256']) {
      // In process, on the real Postgres and Redis: only the signing algorithm differs.
      const other = await startRoost(t, { sandbox: true, env: { JWT_ALG: alg } });
      await page.goto(`${other.url}/`);
      // Beside a database of its own, the sandbox registers no demo client: the provider is off.
      await page.locator('#oidc-off').waitFor();
      t.equal(await text('#oidc-register'), `OIDC_CLIENTS='[{"client_id":"roost-demo","redirect_uris":["${other.url}/"]}]'`);
      t.equal(await oidcSignInButton().count(), 0, 'no OpenID Connect sign-in to offer');
      await signInButton().click();
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.locator('#verified', { hasText: /^(NOT )?verified/ }).waitFor();
      t.equal(await text('#verified'), 'verified', alg);
      t.equal(await text('#alg'), alg);
      t.equal(JSON.parse(await text('#header')).alg, alg);
    }
  });

  t.test('no script error and no Content-Security-Policy violation along the way', async (t) => {
    t.same(consoleErrors, []);
  });

  /** Someone else's sign-in over plain HTTP, for the page's own return_to: where roost sends that browser back. */
  function answerOfAnotherSignIn(query: Record<string, string>): Promise<string> {
    return signInElsewhere(`${url}/login?${new URLSearchParams({ return_to: `${url}/`, ...query })}`);
  }

  /** The same through /authorize, for roost-demo and the page as its redirect URI. */
  function answerOfAnotherOidcSignIn(state: string): Promise<string> {
    const verifier = OTHER_VERIFIER;
    return signInElsewhere(`${url}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: DEMO_CLIENT_ID,
      redirect_uri: `${url}/`,
      scope: 'openid profile',
      state,
      nonce: 'another-nonce',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })}`);
  }

  async function signInElsewhere(start: string): Promise<string> {
    const http = new HttpClient();
    const login = await http.get(start);
    const consentUrl = login.location ?? '';
    const form = readConsentForm((await http.get(consentUrl)).body);
    const decision = await http.postForm(new URL(form.action ?? '', consentUrl).href, { oauth_token: form.token, user_id: form.userIds[0] ?? '', action: 'approve' });
    return (await http.get(decision.location ?? '')).location ?? '';
  }
}
