// roost.js in a real browser: an app page on another origin imports the
// client from roost, signs in through the sandbox, keeps its tokens fresh in
// two tabs, signs out everywhere, and meets cancels, forged answers, ended
// sessions and an unreachable roost.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { freePort, startRoost } from '../helpers/roost.js';

const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const TTL = 30; // seconds, the shortest ACCESS_TOKEN_TTL: roost.js refreshes a third of it ahead

if (!existsSync(CHROMIUM)) {
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser test`;
  // CI must never pass without having run the browser.
  if (inCi) t.fail(why);
  else t.plan(0, why);
} else {
  await clientTests();
}

async function clientTests(): Promise<void> {
  // The app: a page on its own origin that imports roost.js from roost.
  const appPort = await freePort();
  const appOrigin = `http://127.0.0.1:${appPort}`;
  const pages = { '/app.html': 'code', '/fragment.html': 'fragment' } as const;
  const roost = await startRoost(t, {
    sandbox: true,
    env: { RETURN_TO_URLS: Object.keys(pages).map((path) => `${appOrigin}${path}`).join(','), ACCESS_TOKEN_TTL: String(TTL) },
  });
  const appServer = createServer((request, response) => {
    const path = new URL(request.url ?? '/', appOrigin).pathname;
    const mode = pages[path as keyof typeof pages];
    if (mode === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(appPage(roost.url, `${appOrigin}${path}`, mode));
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

  const pageErrors: string[] = [];
  /** A fresh browser profile: its own localStorage, like another person's browser. */
  async function newContext(t: Test): Promise<BrowserContext> {
    const context = await browser.newContext();
    t.teardown(() => context.close());
    return context;
  }
  async function open(context: BrowserContext, path: keyof typeof pages = '/app.html'): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${appOrigin}${path}`);
    await page.waitForFunction('window.ready === true');
    return page;
  }
  /** Starts a sign-in from the page and answers the sandbox's consent page. */
  async function signIn(page: Page, action: 'Approve' | 'Cancel' = 'Approve'): Promise<RedirectOutcome> {
    await page.evaluate('void roost.signIn()');
    await page.getByRole('button', { name: action }).click();
    await page.waitForURL((url) => url.origin === appOrigin);
    await page.waitForFunction('window.ready === true');
    return outcome(page);
  }
  const outcome = (page: Page) => page.evaluate('window.redirect') as Promise<RedirectOutcome>;
  const accessToken = (page: Page) => page.evaluate('roost.getAccessToken().then((token) => ({ token }), (e) => ({ error: e.error, message: e.message }))') as Promise<{ token?: string | null; error?: string }>;
  const storedRefresh = (page: Page) => page.evaluate(`localStorage.getItem(${JSON.stringify(`roost:${roost.url}:refresh_token`)})`) as Promise<string | null>;
  const changes = (page: Page) => page.evaluate('window.changes') as Promise<(string | null)[]>;
  const me = async (token: string) => {
    const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    return response.status;
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const until = async (condition: () => boolean, timeout = 15_000) => {
    for (const end = Date.now() + timeout; !condition(); await sleep(50)) if (Date.now() > end) throw new Error('timed out');
  };

  t.test('sign in (code and PKCE): handleRedirect resolves the user, the address bar is clean, the token verifies', async (t) => {
    const page = await open(await newContext(t));
    t.same(await outcome(page), { user: null }, 'a plain visit: nothing to do, no one signed in');
    t.same(await accessToken(page), { token: null });

    const back = await signIn(page);
    t.equal(back.user?.screen_name, 'alice', JSON.stringify(back));
    t.equal(page.url(), `${appOrigin}/app.html`, 'code and state are gone from the address bar');
    t.equal(await page.evaluate('sessionStorage.length'), 0, 'the sign-in’s state and verifier are spent');
    t.ok(await storedRefresh(page), 'the refresh token is kept in localStorage');
    const { token } = await accessToken(page);
    const { payload } = await jwtVerify(token ?? '', jwks, { issuer: roost.url, typ: 'at+jwt' });
    t.equal(payload.sub, back.user?.sub, 'the user is the token’s claims');
    t.equal(await me(token ?? ''), 200);
    t.same(await changes(page), ['alice'], 'onChange heard the sign-in');
    t.equal(await accessToken(page).then((a) => a.token), token, 'a fresh token is reused, not refreshed');
  });

  t.test('fragment mode signs in too', async (t) => {
    const page = await open(await newContext(t), '/fragment.html');
    const back = await signIn(page);
    t.equal(back.user?.screen_name, 'alice');
    t.equal(page.url(), `${appOrigin}/fragment.html`, 'the tokens are gone from the address bar');
    t.equal(await me((await accessToken(page)).token ?? ''), 200);
  });

  t.test('a reload keeps the session; two tabs refreshing at once keep it too; sign-out in one tab signs out both', async (t) => {
    const context = await newContext(t);
    const first = await open(context);
    const signedIn = await signIn(first);
    await first.reload();
    await first.waitForFunction('window.ready === true');
    t.equal((await outcome(first)).user?.sub, signedIn.user?.sub, 'after a reload, handleRedirect resolves the stored session’s user');

    const second = await open(context);
    t.equal((await outcome(second)).user?.sub, signedIn.user?.sub, 'a second tab is signed in');
    const before = [(await accessToken(first)).token ?? '', (await accessToken(second)).token ?? ''];

    const refreshes: string[] = [];
    context.on('request', (request) => {
      if (request.url() === `${roost.url}/token` && request.method() === 'POST') refreshes.push(request.url());
    });
    // Both tabs now hold a token that is due for a refresh: ask both at once.
    await sleep(((TTL * 2) / 3) * 1000 + 1_500);
    const [a, b] = await Promise.all([accessToken(first), accessToken(second)]);
    t.ok(a.token && b.token, 'both tabs get a token');
    t.not(a.token, before[0], 'the first tab’s token was refreshed');
    t.not(b.token, before[1], 'the second tab’s token was refreshed');
    t.equal(refreshes.length, 1, 'one tab refreshes, the other takes its tokens');
    for (const token of [a.token, b.token]) {
      t.equal(decodeJwt(token ?? '').sid, signedIn.user?.sid, 'same session');
      t.equal(await me(token ?? ''), 200, 'the session is alive');
    }

    const refreshToken = await storedRefresh(second);
    await first.evaluate('roost.signOut()');
    await second.waitForFunction('window.changes.at(-1) === null');
    t.same(await accessToken(second), { token: null }, 'the other tab’s getAccessToken resolves null');
    t.same(await accessToken(first), { token: null });
    t.equal(await storedRefresh(second), null);
    t.equal(await me(a.token ?? ''), 401, 'roost ended the session');
    const again = await fetch(`${roost.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken ?? '' }) });
    t.match(await again.json(), { error: 'invalid_grant' });
  });

  t.test('cancel at the consent page: handleRedirect rejects with access_denied, no tokens', async (t) => {
    const page = await open(await newContext(t));
    const back = await signIn(page, 'Cancel');
    t.equal(back.error, 'access_denied');
    t.equal(page.url(), `${appOrigin}/app.html`, 'the error is gone from the address bar');
    t.equal(await storedRefresh(page), null);
    t.same(await accessToken(page), { token: null });
  });

  t.test('a forged ?code=&state= is refused before any request, no tokens', async (t) => {
    const context = await newContext(t);
    const tokenRequests: string[] = [];
    context.on('request', (request) => {
      if (request.url().startsWith(`${roost.url}/token`)) tokenRequests.push(request.url());
    });
    for (const query of ['code=forged&state=guessed', 'code=forged', 'error=access_denied&state=guessed']) {
      const page = await context.newPage();
      await page.goto(`${appOrigin}/app.html?${query}`);
      await page.waitForFunction('window.ready === true');
      t.equal((await outcome(page)).error, 'state_mismatch', query);
      t.equal(page.url(), `${appOrigin}/app.html`, `${query}: cleaned from the address bar`);
      t.equal(await storedRefresh(page), null);
      await page.close();
    }
    // A state the tab did send, but the answer comes twice: the second finds nothing.
    const page = await open(context);
    await page.evaluate("sessionStorage.setItem(`roost:${roostUrl}:sign_in`, JSON.stringify({ state: 'sent', verifier: 'v'.repeat(43), returnTo: location.href }))");
    await page.goto(`${appOrigin}/app.html?code=forged&state=sent`);
    await page.waitForFunction('window.ready === true');
    t.equal((await outcome(page)).error, 'invalid_grant', 'a matching state but a code roost never issued');
    await page.goto(`${appOrigin}/app.html?code=forged&state=sent`);
    await page.waitForFunction('window.ready === true');
    t.equal((await outcome(page)).error, 'state_mismatch', 'the state works once');
    t.equal(tokenRequests.length, 1, 'only the answer with this tab’s state reached POST /token');
    t.equal(await storedRefresh(page), null);
  });

  t.test('a session ended from outside (POST /logout): getAccessToken resolves null, the refresh token is forgotten', async (t) => {
    const page = await open(await newContext(t));
    await signIn(page);
    const refreshToken = await storedRefresh(page);
    const logout = await fetch(`${roost.url}/logout`, { method: 'POST', body: new URLSearchParams({ refresh_token: refreshToken ?? '' }) });
    t.equal(logout.status, 204);
    // The token in memory is still within its lifetime; the next refresh meets invalid_grant.
    await page.reload();
    await page.waitForFunction('window.ready === true');
    t.same(await outcome(page), { user: null });
    t.same(await accessToken(page), { token: null });
    t.equal(await storedRefresh(page), null, 'the spent refresh token is forgotten');
  });

  t.test('roost busy, then unreachable: getAccessToken backs off, honours Retry-After, throws nothing unhandled, recovers', async (t) => {
    const page = await open(await newContext(t));
    const user = (await signIn(page)).user;
    const attempts: number[] = [];
    let reachable = false;
    await page.route(`${roost.url}/token`, async (route) => {
      attempts.push(Date.now());
      if (reachable) await route.continue();
      else if (attempts.length === 1) {
        await route.fulfill({
          status: 429,
          headers: { 'retry-after': '3', 'access-control-allow-origin': appOrigin, 'access-control-expose-headers': 'retry-after' },
          contentType: 'application/problem+json',
          body: '{"code":"rate_limited"}',
        });
      } else await route.abort('connectionrefused');
    });
    // In memory the access token is gone: the reload has to refresh.
    await page.reload();
    await page.waitForFunction('window.ready === true');
    t.same(await outcome(page), { user: null }, 'handleRedirect resolves, without the session for now');
    const busy = await page.evaluate('roost.getAccessToken().catch((e) => ({ error: e.error, retryAfter: e.retryAfter }))');
    t.same(busy, { error: 'temporarily_unavailable', retryAfter: 3 }, 'getAccessToken rejects with a handled error');
    for (let i = 0; i < 5; i += 1) await accessToken(page);
    t.equal(attempts.length, 1, 'callers during the back-off do not reach roost');

    await until(() => attempts.length >= 2);
    t.equal((await accessToken(page)).error, 'network_error', 'no answer at all');
    await until(() => attempts.length >= 3);
    reachable = true;
    await page.waitForFunction("window.changes.at(-1) === 'alice'", undefined, { timeout: 15_000 });
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] ?? 0));
    t.ok((gaps[0] ?? 0) >= 2_900, `Retry-After: 3 is honoured (${gaps[0]} ms)`);
    t.ok((gaps[1] ?? 0) >= 1_900 && (gaps[2] ?? 0) >= 3_900, `then growing gaps (${gaps.slice(1).join(', ')} ms)`);
    t.equal(attempts.length, 4);
    const { token } = await accessToken(page);
    t.equal(decodeJwt(token ?? '').sid, user?.sid, 'back in the same session once roost answers');
    t.same(await page.evaluate('window.unhandled'), [], 'no unhandled rejection');
  });

  t.test('no script error along the way', async (t) => {
    t.same(pageErrors, []);
  });
}

interface RedirectOutcome {
  user?: { sub: string; sid: string; screen_name: string } | null;
  error?: string;
  message?: string;
}

/** The app's page: it imports roost.js from roost and records what the client says. */
function appPage(roostUrl: string, returnTo: string, mode: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>app</title>
<script type="module">
import { createRoostClient } from ${JSON.stringify(`${roostUrl}/roost.js`)};
window.roostUrl = ${JSON.stringify(roostUrl)};
window.unhandled = [];
addEventListener('unhandledrejection', (event) => window.unhandled.push(String(event.reason && event.reason.message)));
const roost = createRoostClient({ url: ${JSON.stringify(roostUrl)}, returnTo: ${JSON.stringify(returnTo)}, mode: ${JSON.stringify(mode)} });
window.roost = roost;
window.changes = [];
roost.onChange((user) => window.changes.push(user && user.screen_name));
window.redirect = roost.handleRedirect().then((user) => ({ user }), (e) => ({ error: e.error, message: e.message }));
window.ready = true;
</script></head><body><h1>app</h1></body></html>`;
}
