// A newcomer's first minute, in a real browser: roost started as the README's
// first command starts it (no configuration: embedded Postgres, in-process
// store, the sandbox Twitter), then headless Chromium opens the URL roost
// prints, signs in through the sandbox's consent page, and reads the token
// the page verified. Screenshots go to test-artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t from 'tap';
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

  t.test('sign in: consent page, approve, a verified token and /me, then sign out', async (t) => {
    await page.goto(url);
    const signIn = page.getByRole('link', { name: 'Sign in with Twitter (sandbox)' });
    await signIn.waitFor();
    const href = new URL((await signIn.getAttribute('href')) ?? '');
    t.equal(`${href.origin}${href.pathname}`, `${url}/login`, 'the button starts /login');
    t.equal(href.searchParams.get('return_to'), `${url}/`, 'with the page as return_to');
    t.match(href.searchParams.get('state'), /^[0-9a-f]{32}$/, 'and a fresh state');

    await signIn.click();
    await page.waitForURL(/\/sandbox\/twitter\/oauth\/authenticate\?oauth_token=/);
    await page.getByRole('heading', { name: 'Authorize roost to use your account?' }).waitFor();
    await page.getByRole('radio', { name: /Bob Example/ }).check();
    await page.getByRole('button', { name: 'Approve' }).click();

    await page.getByRole('heading', { name: 'Signed in as Bob Example (@bob)' }).waitFor();
    t.equal(page.url(), `${url}/`, 'the token is gone from the address bar');
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

    // Refresh: a new token of the same session, checked again.
    await page.getByRole('button', { name: 'Refresh token' }).click();
    await page.locator('#raw').filter({ hasNotText: token }).waitFor({ state: 'attached' }); // inside a closed <details>
    await page.locator('#verified', { hasText: /^verified$/ }).waitFor();
    const latest = await text('#raw');
    const refreshed = JSON.parse(await text('#claims')) as Record<string, unknown>;
    t.not(refreshed.jti, payload.jti, 'Refresh shows a new token');
    t.equal(refreshed.sub, payload.sub, 'of the same user');
    t.equal(refreshed.sid, payload.sid, 'in the same session');
    await page.locator('#me-status', { hasText: '200' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in with Twitter (sandbox)' }).waitFor();
    t.equal(await page.getByRole('heading', { name: /Signed in as/ }).count(), 0, 'the signed-in view is gone');
    t.equal(await text('#status'), 'Signed out: roost ended the session, so its tokens no longer work.');
    for (const spent of [token, latest]) {
      const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${spent}` } });
      t.equal(me.status, 401, 'the ended session’s access tokens are refused');
      await me.arrayBuffer();
    }
    t.equal(await text('#raw'), '', 'the page no longer holds the token');
    t.equal(await focused(), 'sign-in');
  });

  t.test('a token with a changed claim is shown as NOT verified, and /me refuses it', async (t) => {
    const [header, claims, signature] = (await signInOutOfBand()).split('.') as [string, string, string];
    const forged = { ...JSON.parse(Buffer.from(claims, 'base64url').toString()), screen_name: 'mallory' };
    const tampered = `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
    // As if this tab had started the sign-in: the page keeps the state it sent in sessionStorage.
    await page.goto(url);
    await page.evaluate("sessionStorage.setItem('roost-sandbox-state', 'sent-by-this-tab')");
    // From another document: a fragment change alone would not load the page again.
    await page.goto('about:blank');
    await page.goto(`${url}/#access_token=${tampered}&token_type=Bearer&expires_in=900&state=sent-by-this-tab`);
    await page.getByRole('heading', { name: /@mallory/ }).waitFor();
    await page.locator('#verified', { hasText: /^NOT verified/ }).waitFor();
    t.match(await text('#verified'), /the signature does not match/);
    await page.locator('#me-status', { hasText: '401' }).waitFor();
    t.match(JSON.parse(await text('#me')), { code: 'invalid_token' });
  });

  t.test('tokens in a link the page did not ask for are ignored (login CSRF at the app)', async (t) => {
    const token = await signInOutOfBand();
    for (const [name, fragment] of [
      ['no state', `access_token=${token}&token_type=Bearer&expires_in=900`],
      ['another state', `access_token=${token}&token_type=Bearer&expires_in=900&state=guessed`],
    ] as const) {
      await page.goto('about:blank');
      await page.goto(`${url}/#${fragment}`);
      await page.locator('#denied-text', { hasText: /was not started by this page/ }).waitFor();
      t.equal(await page.locator('#signed-in').isVisible(), false, `${name}: not signed in`);
      t.equal(await text('#raw'), '', `${name}: the token is not shown`);
      t.equal(new URL(page.url()).hash, '', `${name}: and is gone from the address bar`);
    }
  });

  t.test('cancel at the consent page: back on the page with the denial and no token', async (t) => {
    await page.goto(url);
    await page.getByRole('link', { name: 'Sign in with Twitter (sandbox)' }).waitFor();
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
    t.ok(await page.getByRole('link', { name: 'Sign in with Twitter (sandbox)' }).isVisible(), 'the user can try again');
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-cancelled.png'), fullPage: true });
  });

  t.test('with JWT_ALG=EdDSA or RS256 the page verifies the token with that algorithm', async (t) => {
    for (const alg of ['EdDSA', 'RS256']) {
      // In process, on the real Postgres and Redis: only the signing algorithm differs.
      const other = await startRoost(t, { sandbox: true, env: { JWT_ALG: alg } });
      await page.goto(`${other.url}/`);
      await page.getByRole('link', { name: 'Sign in with Twitter (sandbox)' }).click();
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

  /** A real sign-in in a second page of the same browser; returns the token without showing it. */
  async function signInOutOfBand(): Promise<string> {
    const other = await context.newPage();
    try {
      await other.goto(url);
      await other.getByRole('link', { name: 'Sign in with Twitter (sandbox)' }).click();
      await other.getByRole('button', { name: 'Approve' }).click();
      await other.locator('#verified', { hasText: /^verified$/ }).waitFor();
      return (await other.locator('#raw').textContent()) ?? '';
    } finally {
      await other.close();
    }
  }
}
