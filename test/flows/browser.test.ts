// A newcomer's first minute, in a real browser: roost started as the README's
// first command starts it (no configuration: embedded Postgres, in-process
// store, the sandbox Twitter), then headless Chromium opens the URL roost
// prints, signs in through the sandbox's consent page with the page's
// roost.js (a code and PKCE), and reads the token the page verified.
// Screenshots go to test-artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t from 'tap';
import { Browser as HttpClient, readConsentForm } from '../helpers/browser.js';
import { startNode } from '../helpers/child.js';
import { freePort, startRoost } from '../helpers/roost.js';

const CHROMIUM = '/usr/bin/chromium';
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

    await page.getByRole('button', { name: 'Sign out' }).click();
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

  t.test('with JWT_ALG=EdDSA or RS256 the page verifies the token with that algorithm', async (t) => {
    for (const alg of ['EdDSA', 'RS256']) {
      // In process, on the real Postgres and Redis: only the signing algorithm differs.
      const other = await startRoost(t, { sandbox: true, env: { JWT_ALG: alg } });
      await page.goto(`${other.url}/`);
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
  async function answerOfAnotherSignIn(query: Record<string, string>): Promise<string> {
    const http = new HttpClient();
    const login = await http.get(`${url}/login?${new URLSearchParams({ return_to: `${url}/`, ...query })}`);
    const consentUrl = login.location ?? '';
    const form = readConsentForm((await http.get(consentUrl)).body);
    const decision = await http.postForm(new URL(form.action ?? '', consentUrl).href, { oauth_token: form.token, user_id: form.userIds[0] ?? '', action: 'approve' });
    return (await http.get(decision.location ?? '')).location ?? '';
  }
}
