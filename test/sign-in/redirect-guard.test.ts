// The last check on every redirect: whatever a route builds, the browser is
// never sent anywhere but Twitter, roost itself or a registered redirect URI.
import t from 'tap';
import { SANDBOX_CONSUMER_KEY, SANDBOX_CONSUMER_SECRET } from '../../src/config.js';
import { isAllowedRedirect } from '../../src/sign-in/redirect-guard.js';
import { registered } from '../helpers/redirect-uris.js';
import { createTwitterClient } from '../../src/twitter/client.js';
import { hostileReturnTos, printable } from '../helpers/hostile-return-to.js';
import { APP_ORIGIN, APP_URL, startRoost } from '../helpers/roost.js';

const config = {
  publicUrl: 'https://auth.example.com',
  returnToUrls: registered(['https://app.example.com/', 'https://app.example.com/cb?x=1', `https://app.example.com/${'a'.repeat(2024)}`, 'http://localhost/cb', 'http://127.0.0.1']),
  twitter: { apiUrl: 'https://api.x.com', authorizeUrl: 'https://x.com/i/oauth2/authorize', protocol: 'oauth1' as const },
};
const oauth2Config = { ...config, twitter: { ...config.twitter, protocol: 'oauth2' as const } };

t.test('X’s sign-in page of the protocol in use, and not the other one', async (t) => {
  const authenticate = 'https://api.x.com/oauth/authenticate?oauth_token=abc';
  const authorize = 'https://x.com/i/oauth2/authorize?response_type=code&client_id=c&state=s';
  t.ok(isAllowedRedirect(authenticate, config), 'OAuth 1.0a: authenticate');
  t.notOk(isAllowedRedirect(authorize, config), 'OAuth 1.0a: not authorize');
  t.ok(isAllowedRedirect(authorize, oauth2Config), 'OAuth 2.0: authorize');
  t.notOk(isAllowedRedirect(authenticate, oauth2Config), 'OAuth 2.0: not authenticate');
  for (const forged of ['https://x.com/i/oauth2/authorize/../../evil?x', 'https://x.com/i/oauth2/authorizeX?x', 'https://x.com.evil.example/i/oauth2/authorize?x']) {
    t.notOk(isAllowedRedirect(forged, oauth2Config), forged);
  }
});

t.test('allowed: Twitter, roost itself, and registered URLs with roost’s answer added', async (t) => {
  for (const location of [
    'https://api.x.com/oauth/authenticate?oauth_token=abc',
    '/docs/',
    '/login?return_to=x',
    'https://auth.example.com/login/callback?oauth_token=a&oauth_verifier=b',
    'https://auth.example.com/login?return_to=x',
    'https://app.example.com/',
    'https://app.example.com/?code=c&state=s',
    'https://app.example.com/cb?x=1&code=c&state=s',
    'http://localhost:5173/cb#access_token=a',
    // A bare loopback entry: the answer follows the authority straight away, on any port.
    'http://127.0.0.1#access_token=a',
    'http://127.0.0.1:8080#access_token=a&state=s',
    'http://127.0.0.1:8080?code=c&state=s',
    'http://127.0.0.1:8080',
    'https://app.example.com/cb?x=1#access_token=a.b.c&token_type=Bearer&expires_in=900',
    'https://app.example.com/#error=access_denied',
    // A return_to at its length limit, lengthened by the code and state of roost's answer.
    `https://app.example.com/${'a'.repeat(2024)}?code=${'c'.repeat(43)}&state=${'s'.repeat(512)}`,
  ]) {
    t.ok(isAllowedRedirect(location, config), location);
  }
});

t.test('refused: anything else', async (t) => {
  const refused = [
    'https://api.x.com/oauth/authorize?oauth_token=abc',
    'https://api.x.com.evil.com/oauth/authenticate?oauth_token=abc',
    'https://auth.example.com.evil.com/',
    '//evil.com/',
    '/\\evil.com/',
    '/\tevil',
    'relative',
    // Another path or query on a registered origin.
    'https://app.example.com/other',
    'https://app.example.com/other#access_token=a',
    'https://app.example.com/cb',
    'https://app.example.com/cb?x=12',
    'https://app.example.com/cb?code=c&x=1',
    'http://localhost:5173/other',
    'https://localhost/cb',
    'https://auth.example.com.evil.com/login',
    './relative',
    // A fragment is how roost answers, so on an allowed origin it may be in a
    // redirect; and a path is a place on roost itself.
    ...hostileReturnTos('https://app.example.com')
      // Length is checked where return_to arrives; here only where the browser goes matters.
      .filter(({ category, value }) => !(category === 'overlong values' && value.startsWith('https://app.example.com/')))
      .filter(({ category, value }) => category !== 'fragments' && !/^\/(?![/\\])/.test(value))
      .map(({ value }) => value),
  ];
  for (const location of refused) t.notOk(isAllowedRedirect(location, config), printable(location));
});

t.test('a route that redirects off-origin answers 500 instead', async (t) => {
  const roost = await startRoost(t, {
    configure: (app) => {
      // Hidden from the contract check: this route exists only in this test.
      app.get('/careless', { schema: { hide: true } }, async (request, reply) => reply.redirect(String((request.query as { to?: string }).to), 302));
    },
  });
  const off = await fetch(`${roost.url}/careless?to=${encodeURIComponent('https://evil.example/')}`, { redirect: 'manual' });
  t.equal(off.status, 500);
  t.equal(off.headers.get('location'), null);
  t.equal(off.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.match(await off.json(), { code: 'internal_error' });
  t.ok(roost.logs.some((line) => line.msg === 'refused a redirect off the allowed origins'));
  const page = await fetch(`${roost.url}/careless?to=${encodeURIComponent('https://evil.example/')}`, { redirect: 'manual', headers: { accept: 'text/html' } });
  t.equal(page.status, 500);
  t.equal(page.headers.get('location'), null);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8', 'a browser gets a page, not raw JSON');
  t.match(await page.text(), /<code>internal_error<\/code>/);

  const elsewhere = await fetch(`${roost.url}/careless?to=${encodeURIComponent(`${APP_ORIGIN}/x`)}`, { redirect: 'manual' });
  t.equal(elsewhere.status, 500, 'another path on the app’s origin is refused too');
  await elsewhere.arrayBuffer();

  const on = await fetch(`${roost.url}/careless?to=${encodeURIComponent(APP_URL)}`, { redirect: 'manual' });
  t.equal(on.status, 302);
  t.equal(on.headers.get('location'), APP_URL);

  const docs = await fetch(`${roost.url}/docs/static/index.html`, { redirect: 'manual' });
  t.equal(docs.status, 302, 'a redirect within roost passes');
  t.equal(docs.headers.get('location'), '/docs/');
  await docs.arrayBuffer();
});

t.test('the built-in sandbox accepts only roost’s own callback, as Twitter does', async (t) => {
  const roost = await startRoost(t, { sandbox: true });
  t.ok(roost.config.sandbox);
  const client = createTwitterClient({ apiUrl: roost.config.twitter.apiUrl, consumerKey: SANDBOX_CONSUMER_KEY, consumerSecret: SANDBOX_CONSUMER_SECRET, timeoutMs: 2000 });
  await t.rejects(client.requestToken('https://evil.example/'), { code: 'twitter_callback_not_approved' });
  const ok = await client.requestToken(roost.config.callbackUrl);
  t.type(ok.token, 'string');
});

t.test('every route that takes a return_to refuses the hostile table: /login and /logout', async (t) => {
  const roost = await startRoost(t);
  const hostile = hostileReturnTos(APP_ORIGIN).filter(({ value }) => value !== '');
  for (const { category, value } of hostile) {
    const login = await fetch(`${roost.url}/login?return_to=${encodeURIComponent(value)}`, { redirect: 'manual' });
    const logout = await fetch(`${roost.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ return_to: value, refresh_token: 'x'.repeat(43) }).toString(),
    });
    for (const [route, response] of [['/login', login], ['/logout', logout]] as const) {
      t.ok(response.status === 400 && response.headers.get('location') === null, `${route} ${category}: ${printable(value)} → ${response.status}`);
      await response.arrayBuffer();
    }
  }
});
