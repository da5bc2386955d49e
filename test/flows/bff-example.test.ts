// examples/bff runs as a user would start it, against a live roost in
// sandbox mode (real Postgres and Redis), driven by a browser that keeps
// cookies and follows no redirects. roost records what it hands the app at
// POST /token and what the app presents there and at POST /logout, so the
// test knows every token and can check that none reaches the browser.
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, readConsentForm, type Hop } from '../helpers/browser.js';
import { startNode } from '../helpers/child.js';
import { freePort, startRoost } from '../helpers/roost.js';

const EXAMPLE = 'examples/bff/server.js';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One POST to roost's /token or /logout, as roost saw it. */
interface Exchange {
  readonly path: string;
  readonly form: Record<string, string>;
  readonly status: number;
  readonly answer: Record<string, unknown>;
}
const exchanges: Exchange[] = [];

const appPort = await freePort();
const appUrl = `http://127.0.0.1:${appPort}`;
const roost = await startRoost(t, {
  sandbox: true,
  env: { RETURN_TO_URLS: `${appUrl}/callback`, ACCESS_TOKEN_TTL: '30' },
  configure: (app) => {
    app.addHook('onSend', async (request, reply, payload) => {
      const path = request.url.split('?')[0] as string;
      if (request.method === 'POST' && (path === '/token' || path === '/logout')) {
        const answer = typeof payload === 'string' && payload ? (JSON.parse(payload) as Record<string, unknown>) : {};
        exchanges.push({ path, form: { ...(request.body as Record<string, string>) }, status: reply.statusCode, answer });
      }
      return payload;
    });
  },
});
const app = startNode(t, [EXAMPLE], { ROOST_URL: roost.url, APP_URL: appUrl, PORT: String(appPort) });
await app.waitFor(/bff listening on/, 10_000);

/** Every hop of every browser below, for the leak checks at the end. */
const hops: Array<{ url: string; hop: Hop }> = [];
class RecordingBrowser extends Browser {
  override async request(url: string, init: RequestInit = {}): Promise<Hop> {
    const hop = await super.request(url, init);
    hops.push({ url, hop });
    return hop;
  }
}

const tokenExchanges = (grant: string) => exchanges.filter((e) => e.path === '/token' && e.form.grant_type === grant);

/** /login at the app → roost → the sandbox's consent → roost's callback; returns the app's callback URL. */
async function toAppCallback(browser: Browser, action: 'approve' | 'cancel' = 'approve') {
  const start = await browser.get(`${appUrl}/login`);
  const atRoost = await browser.get(start.location as string);
  const consentPage = await browser.get(atRoost.location as string);
  const form = readConsentForm(consentPage.body);
  const decision = await browser.postForm(new URL(form.action ?? '', atRoost.location as string).href, {
    oauth_token: form.token,
    user_id: roost.users[1]!.id_str,
    action,
  });
  const back = await browser.get(decision.location as string);
  return { start, back, callbackUrl: new URL(back.location as string) };
}

/** A whole sign-in; returns the browser, roost's answer to the app's code, and when it happened. */
async function signIn() {
  const browser = new RecordingBrowser();
  const { callbackUrl } = await toAppCallback(browser);
  const done = await browser.get(callbackUrl.href);
  if (done.status !== 303) throw new Error(`/callback answered ${done.status}: ${done.body}`);
  const exchange = tokenExchanges('authorization_code').at(-1) as Exchange;
  return { browser, tokens: exchange.answer as { access_token: string; refresh_token: string }, at: Date.now() };
}

async function me(browser: Browser) {
  const hop = await browser.get(`${appUrl}/api/me`);
  return { status: hop.status, json: JSON.parse(hop.body) as Record<string, unknown>, hop };
}

t.test('a sign-in through the app: PKCE and state at roost, a session cookie in the browser', async (t) => {
  const browser = new RecordingBrowser();
  const { start, back, callbackUrl } = await toAppCallback(browser);
  t.equal(start.status, 303);
  const login = new URL(start.location as string);
  t.equal(`${login.origin}${login.pathname}`, `${roost.url}/login`);
  t.equal(login.searchParams.get('return_to'), `${appUrl}/callback`);
  t.equal(login.searchParams.get('code_challenge_method'), 'S256');
  t.match(login.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  const state = login.searchParams.get('state') as string;
  t.match(state, /^[A-Za-z0-9_-]{22}$/);
  t.match(start.headers.getSetCookie(), [/^bff_login=[^;]+\.[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/]);

  t.equal(back.status, 302, 'roost sends the browser back with a code');
  t.equal(`${callbackUrl.origin}${callbackUrl.pathname}`, `${appUrl}/callback`);
  t.equal(callbackUrl.searchParams.get('state'), state);

  const before = tokenExchanges('authorization_code').length;
  const done = await browser.get(callbackUrl.href);
  t.equal(done.status, 303);
  t.equal(done.location, '/');
  const cookies = done.headers.getSetCookie();
  t.ok(cookies.includes('bff_login=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0'), 'the pre-session cookie is cleared');
  t.ok(cookies.some((c) => /^bff_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/.test(c)), 'an HttpOnly SameSite=Lax session cookie, not Secure on http');
  const redeemed = tokenExchanges('authorization_code').slice(before);
  t.equal(redeemed.length, 1, 'the app redeemed the code once');
  t.equal(redeemed[0]?.status, 200, 'with the verifier that matches the challenge');
  t.equal(redeemed[0]?.form.redirect_uri, `${appUrl}/callback`, 'and the same redirect_uri');

  const page = await browser.get(`${appUrl}/`);
  t.equal(page.status, 200);
  t.match(page.body, 'Signed in as @bob');
  t.match(page.body, '<form method="post" action="/logout">');
  const user = await me(browser);
  t.equal(user.status, 200);
  t.equal(user.json.screen_name, 'bob');
  t.equal(user.json.id, decodeJwt(redeemed[0]?.answer.access_token as string).sub, "roost's /me, called with the session's token");
  t.equal(user.hop.headers.get('cache-control'), 'no-store');
});

t.test('no session, or one the app does not know: 401', async (t) => {
  const browser = new RecordingBrowser();
  const none = await me(browser);
  t.equal(none.status, 401);
  t.same(none.json, { error: 'not_signed_in' });
  t.match((await browser.get(`${appUrl}/`)).body, '<a href="/login">');
  browser.cookies.set('bff_session', 'made-up');
  const unknown = await me(browser);
  t.equal(unknown.status, 401);
  t.notOk(browser.cookies.has('bff_session'), 'the unknown cookie is cleared');
});

// Signed in here, refreshed below, signed out after that.
let refreshed: Awaited<ReturnType<typeof signIn>>;

t.test('the access token is refreshed near its expiry; a session ended at roost ends at the app', async (t) => {
  refreshed = await signIn();
  const endedEarly = await signIn();
  const endedLater = await signIn();
  const refreshes = () => tokenExchanges('refresh_token');

  t.equal((await me(refreshed.browser)).status, 200);
  t.equal(refreshes().length, 0, 'a fresh access token is used as it is');

  // Ended at roost while the app still holds a live access token: roost's /me refuses it at once.
  await fetch(`${roost.url}/logout`, { method: 'POST', body: new URLSearchParams({ refresh_token: endedEarly.tokens.refresh_token }) });
  const early = await me(endedEarly.browser);
  t.equal(early.status, 401);
  t.notOk(endedEarly.browser.cookies.has('bff_session'), 'the cookie is cleared');
  t.equal((await me(endedEarly.browser)).status, 401, 'and stays signed out');

  // Ended at roost by its refresh token: the app finds out when it refreshes.
  const endedAt = exchanges.length;
  await fetch(`${roost.url}/logout`, { method: 'POST', body: new URLSearchParams({ refresh_token: endedLater.tokens.refresh_token }) });
  t.equal(exchanges.slice(endedAt).length, 1);

  // ACCESS_TOKEN_TTL=30: the app refreshes in the token's last third, 20 s after it was issued.
  await sleep(Math.max(0, endedLater.at + 21_000 - Date.now()));
  const after = await me(refreshed.browser);
  t.equal(after.status, 200);
  t.equal(after.json.screen_name, 'bob');
  const rotation = refreshes().filter((e) => e.form.refresh_token === refreshed.tokens.refresh_token);
  t.equal(rotation.length, 1, 'the refresh token from the sign-in was presented once');
  t.equal(rotation[0]?.status, 200);
  t.not(rotation[0]?.answer.refresh_token, refreshed.tokens.refresh_token, 'roost rotated it');
  const count = refreshes().length;
  t.equal((await me(refreshed.browser)).status, 200);
  t.equal(refreshes().length, count, 'the new access token is used without another refresh');

  const later = await me(endedLater.browser);
  t.equal(later.status, 401);
  t.same(later.json, { error: 'not_signed_in' });
  t.notOk(endedLater.browser.cookies.has('bff_session'), 'the cookie is cleared');
  const refused = refreshes().filter((e) => e.form.refresh_token === endedLater.tokens.refresh_token);
  t.same(refused.map((e) => [e.status, e.answer.error]), [[400, 'invalid_grant']], 'roost refused the refresh');
});

t.test('POST /logout from another origin, or without one, is refused', async (t) => {
  const before = exchanges.length;
  for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { origin: `http://localhost:${appPort}` }, {}] as Array<Record<string, string>>) {
    const hop = await refreshed.browser.request(`${appUrl}/logout`, { method: 'POST', headers });
    t.equal(hop.status, 403, `Origin: ${JSON.stringify(headers)}`);
    t.same(JSON.parse(hop.body), { error: 'cross_origin_request' });
  }
  t.equal(exchanges.length, before, 'roost was not asked to end anything');
  t.equal((await me(refreshed.browser)).status, 200, 'the session goes on');
});

t.test('POST /logout from the app: the session ends at roost and at the app', async (t) => {
  const cookie = refreshed.browser.cookies.get('bff_session') as string;
  const latest = tokenExchanges('refresh_token').filter((e) => e.form.refresh_token === refreshed.tokens.refresh_token)[0]?.answer.refresh_token as string;
  const before = exchanges.length;
  const hop = await refreshed.browser.request(`${appUrl}/logout`, { method: 'POST', headers: { origin: appUrl } });
  t.equal(hop.status, 303);
  t.equal(hop.location, '/');
  t.ok(hop.headers.getSetCookie().includes('bff_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0'), 'the cookie is cleared');
  const ended = exchanges.slice(before);
  t.same(ended.map((e) => [e.path, e.status]), [['/logout', 204]]);
  t.equal(ended[0]?.form.refresh_token, latest, 'the app presented the rotated refresh token it stored');

  const again = await fetch(`${roost.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: latest }) });
  t.equal(again.status, 400);
  t.equal(((await again.json()) as { error: string }).error, 'invalid_grant', 'roost refuses the refresh token now');
  const sid = decodeJwt(refreshed.tokens.access_token).sid as string;
  const row = await roost.deps.db.selectFrom('sessions').select(['revoked_at']).where('id', '=', sid).executeTakeFirstOrThrow();
  t.ok(row.revoked_at, "roost's session is revoked");

  t.equal((await me(refreshed.browser)).status, 401);
  refreshed.browser.cookies.set('bff_session', cookie);
  t.equal((await me(refreshed.browser)).status, 401, 'a copy of the old cookie is worth nothing');
});

t.test('an answer at /callback that this browser did not ask for is refused and redeems nothing', async (t) => {
  const browser = new RecordingBrowser();
  const { callbackUrl } = await toAppCallback(browser);
  const before = tokenExchanges('authorization_code').length;
  const forged = new URL(callbackUrl);
  forged.searchParams.set('state', 'forged');
  const refused = await browser.get(forged.href);
  t.equal(refused.status, 400);
  t.match(refused.body, 'This sign-in was not started here');
  t.notOk(browser.cookies.has('bff_session'));
  t.equal((await browser.get(callbackUrl.href)).status, 400, 'the pre-session went with the failed attempt: it works once');

  const other = new RecordingBrowser();
  const second = await toAppCallback(other);
  const elsewhere = new RecordingBrowser(); // the right code and state, in a browser that did not start the sign-in
  t.equal((await elsewhere.get(second.callbackUrl.href)).status, 400);
  t.notOk(elsewhere.cookies.has('bff_session'));
  t.equal(tokenExchanges('authorization_code').length, before, 'no code was redeemed');
  t.equal((await other.get(second.callbackUrl.href)).status, 303, 'the browser that started it still can');
});

t.test('a cancel at the consent page shows the error page', async (t) => {
  const browser = new RecordingBrowser();
  const { callbackUrl } = await toAppCallback(browser, 'cancel');
  t.equal(callbackUrl.searchParams.get('error'), 'access_denied');
  const before = exchanges.length;
  const page = await browser.get(callbackUrl.href);
  t.equal(page.status, 400);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.body, '<h1>You are not signed in</h1>');
  t.match(page.body, 'access_denied');
  t.match(page.body, '<a href="/login">Sign in again</a>');
  t.notOk(browser.cookies.has('bff_session'));
  t.equal(exchanges.length, before, 'nothing was asked of roost');
  t.equal((await me(browser)).status, 401);
});

t.test('no token ever reaches the browser or the log', async (t) => {
  const tokens = exchanges.flatMap((e) => [e.answer.access_token, e.answer.refresh_token, e.form.refresh_token]).filter((v): v is string => typeof v === 'string');
  t.ok(tokens.length >= 10, `the tokens roost handed out and took back (${tokens.length})`);
  t.ok(hops.length > 40, `every hop of every browser (${hops.length})`);
  const appHops = hops.filter(({ url }) => url.startsWith(appUrl));
  t.ok(appHops.length > 20);
  const leaks = hops
    .filter(({ url, hop }) => tokens.some((token) => [url, hop.location ?? '', hop.body, ...hop.headers.getSetCookie()].join('\n').includes(token)))
    .map(({ url }) => url.split('?')[0]);
  t.same(leaks, [], 'no URL, Location, body or cookie of any hop carries a token');
  const jwtLike = appHops
    .filter(({ hop }) => /eyJ[\w-]+\.eyJ/.test([hop.location ?? '', hop.body, ...[...hop.headers].map(([name, value]) => `${name}: ${value}`)].join('\n')))
    .map(({ url }) => url.split('?')[0]);
  t.same(jwtLike, [], "nothing that looks like a JWT in any of the app's answers");
  const sessionCookies = appHops.flatMap(({ hop }) => hop.headers.getSetCookie()).map((c) => /^bff_session=([^;]+)/.exec(c)?.[1]).filter((v): v is string => !!v);
  t.ok(sessionCookies.length >= 5);
  const output = app.output();
  t.same([...tokens, ...sessionCookies].filter((secret) => output.includes(secret)), [], 'the app printed no token and no cookie');
});

t.test('SIGTERM stops the example', async (t) => {
  t.equal(await app.stop(), 0);
});
