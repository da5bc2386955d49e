// The first page of docs/spa.md, made as a reader makes it: the blocks after
// `<!-- spa-guide: NAME -->` become the files NAME, word for word but for the
// guide's two local addresses (roost's, the page's), which become this test's;
// the page's origin is registered as the guide's start block registers it; a
// plain static server stands in for the guide's. Then real Chromium signs in
// through the sandbox's consent page, reloads, lets the access token come due
// and be refreshed, signs out in two tabs, cancels at the consent page and
// meets an answer it did not ask for, each shown by the guide's own code.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { freePort, startRoost } from '../helpers/roost.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
/** Where the guide has roost (`npm start`) and the page; the test's own take their place. */
const GUIDE_ROOST = 'http://localhost:3000';
const GUIDE_APP = 'http://localhost:5173';
const MARKER = /^<!-- spa-guide: (\S+) -->$/;

/** The fenced block after each `<!-- spa-guide: NAME -->` line of the guide, by NAME. */
function guideBlocks(page: string): Map<string, string> {
  const lines = page.split('\n');
  const blocks = new Map<string, string>();
  lines.forEach((line, at) => {
    const name = MARKER.exec(line)?.[1];
    if (name === undefined) return;
    if (blocks.has(name)) throw new Error(`docs/spa.md marks two blocks as ${name}`);
    if (!/^```\w+$/.test(lines[at + 1] ?? '')) throw new Error(`the line after "${line}" must open a fenced block`);
    const end = lines.indexOf('```', at + 2);
    if (end === -1) throw new Error(`the block of ${name} is not closed`);
    blocks.set(name, lines.slice(at + 2, end).join('\n') + '\n');
  });
  return blocks;
}

if (!existsSync(CHROMIUM)) {
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser test`;
  // CI must never pass without having run the browser.
  if (inCi) t.fail(why);
  else t.plan(0, why);
} else {
  await guideTests();
}

async function guideTests(): Promise<void> {
  const blocks = guideBlocks(readFileSync(path.join(ROOT, 'docs/spa.md'), 'utf8'));
  t.same([...blocks.keys()].sort(), ['app.js', 'index.html', 'start'], 'the guide marks the page, its script and how to start both');
  const start = blocks.get('start') ?? '';
  const registered = /^RETURN_TO_URLS=(\S+) npm start\b/m.exec(start)?.[1];
  if (registered === undefined) throw new Error('the start block of docs/spa.md no longer starts roost with RETURN_TO_URLS');
  if (!start.includes(`http.server ${new URL(GUIDE_APP).port}`)) throw new Error(`the start block of docs/spa.md no longer serves the page on ${GUIDE_APP}`);

  const appPort = await freePort();
  const appOrigin = `http://127.0.0.1:${appPort}`;
  const roost = await startRoost(t, { sandbox: true, env: { RETURN_TO_URLS: registered.replaceAll(GUIDE_APP, appOrigin) } });
  const local = (name: string) => (blocks.get(name) ?? '').replaceAll(GUIDE_ROOST, roost.url).replaceAll(GUIDE_APP, appOrigin);
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html', body: local('index.html') },
    '/app.js': { type: 'text/javascript', body: local('app.js') },
  };
  // As `python3 -m http.server` serves the folder: index.html at /, the query ignored.
  const appServer = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', appOrigin).pathname];
    if (file === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => appServer.listen(appPort, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => appServer.close(() => resolve())));
  const jwks = createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`));

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());

  // Script errors and CSP violations (the guide's page sets a policy) surface here.
  const consoleErrors: string[] = [];
  /** The grant type of each POST /token the context's pages send. */
  async function newContext(t: Test): Promise<{ context: BrowserContext; grants: string[] }> {
    const context = await browser.newContext();
    t.teardown(() => context.close());
    const grants: string[] = [];
    context.on('request', (request) => {
      if (request.method() === 'POST' && request.url() === `${roost.url}/token`) grants.push(new URLSearchParams(request.postData() ?? '').get('grant_type') ?? '');
    });
    return { context, grants };
  }
  async function open(context: BrowserContext, url = `${appOrigin}/`): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('console', (message) => {
      // The browser's own ask for /favicon.ico, which the guide's folder does not have, is left out.
      if (message.type() === 'error' && message.location().url !== `${appOrigin}/favicon.ico`) consoleErrors.push(message.text());
    });
    await page.goto(url);
    return page;
  }
  const signInButton = (page: Page) => page.getByRole('button', { name: 'Sign in with X' });
  const signedInAs = (page: Page, who: string) => page.getByText(`Signed in as ${who}`).waitFor();
  /** The guide's "Show my profile": the token roost.js handed out for GET /me, and the profile the page shows. */
  async function showProfile(page: Page): Promise<{ token: string; profile: Record<string, unknown> }> {
    const answered = page.waitForResponse((response) => response.url() === `${roost.url}/me` && response.request().method() === 'GET');
    await page.getByRole('button', { name: 'Show my profile' }).click();
    const response = await answered;
    const token = ((await response.request().allHeaders()).authorization ?? '').replace(/^Bearer /, '');
    const profile = (await response.json()) as Record<string, unknown>;
    await page.locator('#profile', { hasText: JSON.stringify(profile, null, 2) }).waitFor();
    return { token, profile };
  }
  const storedRefresh = (page: Page) => page.evaluate(`localStorage.getItem(${JSON.stringify(`roost:${roost.url}:refresh_token`)})`);
  const me = async (token: string) => {
    const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    return response.status;
  };

  t.test('sign in, reload, a refresh when the token comes due, sign out in two tabs', async (t) => {
    const { context, grants } = await newContext(t);
    // The browser's clock, so that the access token's 15 minutes pass in a moment.
    await context.clock.install();
    const page = await open(context);
    await signInButton(page).click();
    await page.getByRole('heading', { name: 'Authorize roost to use your account?' }).waitFor();
    await page.getByRole('button', { name: 'Approve' }).click();
    await signedInAs(page, 'Alice Example (@alice)');
    t.equal(page.url(), `${appOrigin}/`, 'the code and state are gone from the address bar');
    t.same(grants, ['authorization_code'], 'roost.js redeemed a code (PKCE, the default)');
    t.equal(await page.getByRole('alert').textContent(), '', 'no error shown');

    const first = await showProfile(page);
    t.match(first.profile, { screen_name: 'alice', twitter_id: '1240000000000000001' }, 'GET /me answers with the user');
    const { payload } = await jwtVerify(first.token, jwks, { issuer: roost.url, typ: 'at+jwt' });

    await page.reload();
    await signedInAs(page, 'Alice Example (@alice)');
    t.same(grants, ['authorization_code', 'refresh_token'], 'after a reload, the stored refresh token signs the user in again');
    const reloaded = await showProfile(page);
    t.not(reloaded.token, first.token, 'with a new access token');
    t.match(decodeJwt(reloaded.token), { sub: payload.sub, sid: payload.sid }, 'of the same user and session');

    // Fourteen minutes on: a minute before the token expires, roost.js refreshes it.
    await context.clock.fastForward('14:05');
    const refreshed = await showProfile(page);
    t.same(grants, ['authorization_code', 'refresh_token', 'refresh_token'], 'one refresh, when the token came due');
    t.not(refreshed.token, reloaded.token, 'the call went out with the refreshed token');
    t.match(decodeJwt(refreshed.token), { sub: payload.sub, sid: payload.sid });
    t.equal(await me(refreshed.token), 200);

    const second = await open(context);
    await signedInAs(second, 'Alice Example (@alice)');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInButton(page).waitFor();
    await signInButton(second).waitFor();
    t.equal(await second.getByText('Signed in as').isVisible(), false, 'the second tab is signed out too');
    t.equal(await storedRefresh(page), null, 'the refresh token is forgotten');
    t.equal(await me(refreshed.token), 401, 'roost ended the session');
    await page.reload();
    await signInButton(page).waitFor();
    t.equal(await page.getByText('Signed in as').isVisible(), false, 'a reload after sign-out stays signed out');
  });

  t.test('cancel at the consent page: the guide’s message, no session', async (t) => {
    const { context, grants } = await newContext(t);
    const page = await open(context);
    await signInButton(page).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('alert').filter({ hasText: /\S/ }).waitFor();
    t.equal(await page.getByRole('alert').textContent(), 'You did not sign in. Sign in again when you are ready.');
    t.ok(await signInButton(page).isVisible(), 'the user can sign in again');
    t.equal(page.url(), `${appOrigin}/`, 'the error is gone from the address bar');
    t.same(grants, [], 'no token was asked for');
    t.equal(await storedRefresh(page), null);
  });

  t.test('an answer this tab did not ask for: the guide’s message, no request', async (t) => {
    const { context, grants } = await newContext(t);
    const page = await open(context, `${appOrigin}/?code=forged&state=guessed`);
    await page.getByRole('alert').filter({ hasText: /\S/ }).waitFor();
    t.equal(await page.getByRole('alert').textContent(), 'That sign-in was not started in this tab: sign in again.');
    t.ok(await signInButton(page).isVisible());
    t.same(grants, [], 'the forged code never reached roost');
  });

  t.test('no script error and no Content-Security-Policy violation along the way', async (t) => {
    t.same(consoleErrors, []);
  });
}
