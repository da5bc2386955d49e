// The sandbox landing page as served: a page, a script and a stylesheet under
// a policy that forbids inline code, and roost's own origin allowed as return_to.
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_RETURN_URLS, startRoost } from '../helpers/roost.js';

const roost = await startRoost(t, { sandbox: true });

t.test('the page, its script and its stylesheet carry a CSP without inline code', async (t) => {
  for (const [path, type] of [['/', 'text/html'], ['/home.js', 'text/javascript'], ['/home.css', 'text/css']] as const) {
    const response = await fetch(`${roost.url}${path}`);
    t.equal(response.status, 200, path);
    t.equal(response.headers.get('content-type'), `${type}; charset=utf-8`, path);
    const csp = response.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'none'/, path);
    t.match(csp, /script-src 'self';/, path);
    t.match(csp, /frame-ancestors 'none'/, path);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/, path);
    t.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
  }
});

t.test('the page has no inline script, style or event handler', async (t) => {
  const html = await (await fetch(`${roost.url}/`)).text();
  const link = /<a [^>]*id="sign-in" href="([^"]*)"[^>]*>Sign in with Twitter \(sandbox\)<\/a>/.exec(html);
  t.equal(link?.[1], `${roost.url}/login?return_to=${encodeURIComponent(`${roost.url}/`)}`, 'the server writes the sign-in link, with the page as return_to');
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
  t.equal(scripts.length, 1);
  t.match(scripts[0]?.[0], /src="\/home\.js"/);
  t.equal(scripts[0]?.[1], '', 'the script tag has no body');
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
});

t.test("in sandbox mode roost's own page is a registered return_to, and the sign-in comes back to it with its state", async (t) => {
  t.same(roost.config.returnToUrls.map((uri) => uri.written), [...APP_RETURN_URLS, `${roost.url}/`]);
  const back = await signIn(new Browser(), roost, { returnTo: `${roost.url}/`, user: 2, loginQuery: { state: 'page-state' } });
  t.equal(back.status, 302);
  t.match(back.location, `${roost.url}/#access_token=`);
  t.equal(fragmentOf(back.location).get('token_type'), 'Bearer');
  t.equal(fragmentOf(back.location).get('state'), 'page-state');
  const elsewhere = await fetch(`${roost.url}/login?return_to=${encodeURIComponent(`${roost.url}/docs/`)}`, { redirect: 'manual' });
  t.equal(elsewhere.status, 400, 'another page of roost is not registered');
  t.match(await elsewhere.json(), { code: 'return_to_not_allowed' });
});

t.test('a cancelled sign-in comes back to the page with error=access_denied and the state', async (t) => {
  const back = await signIn(new Browser(), roost, { returnTo: `${roost.url}/`, action: 'cancel', loginQuery: { state: 's1' } });
  t.equal(back.location, `${roost.url}/#error=access_denied&error_description=The+user+did+not+authorize+the+app+at+Twitter&state=s1`);
});

t.test('the page opened under another host name moves to PUBLIC_URL first, where its state will come back', async (t) => {
  const port = new URL(roost.url).port;
  const other = await fetch(`http://localhost:${port}/`, { redirect: 'manual' });
  t.equal(other.status, 302);
  t.equal(other.headers.get('location'), `${roost.url}/`);
  t.equal(other.headers.get('cache-control'), 'no-store');
  await other.arrayBuffer();
  const asset = await fetch(`http://localhost:${port}/home.js`, { redirect: 'manual' });
  t.equal(asset.status, 200, 'its assets are served wherever they are asked for');
  await asset.arrayBuffer();
});

t.test('the discovery document gives the page its issuer and sign-in endpoint', async (t) => {
  const discovery = (await (await fetch(`${roost.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.equal(discovery.issuer, roost.url);
  t.equal(discovery.authorization_endpoint, `${roost.url}/login`);
});
