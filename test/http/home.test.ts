// The sandbox landing page as served: a page, a script and a stylesheet under
// a policy that allows what the page does (its modules and fetches from roost
// itself) and nothing else, and roost's own page registered as return_to for
// the code flow roost.js runs; beside it, the OpenID Connect demo client
// roost-demo, whose answers the page tells from roost.js's by their iss.
import { createHash } from 'node:crypto';
import t from 'tap';
import { DEMO_CLIENT_ID } from '../../src/config.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_RETURN_URLS, startRoost } from '../helpers/roost.js';

const roost = await startRoost(t, { sandbox: true });
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

t.test('the page, its script and its stylesheet carry a CSP that allows their modules, styles and fetches from roost, and nothing else', async (t) => {
  for (const [path, type] of [['/', 'text/html'], ['/home.js', 'text/javascript'], ['/home.css', 'text/css']] as const) {
    const response = await fetch(`${roost.url}${path}`);
    t.equal(response.status, 200, path);
    t.equal(response.headers.get('content-type'), `${type}; charset=utf-8`, path);
    t.equal(response.headers.get('content-security-policy'), CSP, `${path}: scripts, styles and fetches from roost only; no form, no image but data:`);
    t.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
    await response.arrayBuffer();
  }
});

t.test('the page has no inline script, style or event handler; its module imports roost.js from the same origin', async (t) => {
  const html = await (await fetch(`${roost.url}/`)).text();
  t.match(html, /<button type="button" id="sign-in">Sign in with Twitter \(sandbox\)<\/button>/, 'the page starts the sign-in from its script');
  t.notMatch(html, /\/login\?/, 'no sign-in link written into the page');
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
  t.equal(scripts.length, 1);
  t.match(scripts[0]?.[0], /src="\/home\.js" type="module"/);
  t.equal(scripts[0]?.[1], '', 'the script tag has no body');
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i);

  const script = await (await fetch(`${roost.url}/home.js`)).text();
  t.match(script, /^import \{ createRoostClient \} from '\/roost\.js';$/m, 'roost.js, from roost itself: script-src \'self\' covers it');
  t.notMatch(script, /localStorage/, 'the refresh token is roost.js\'s to keep');
  // roost.js keeps the state and verifier of its own sign-in; the page keeps only the demo client's, under a key of its own.
  t.same([...script.matchAll(/sessionStorage\.(\w+)\(([^,)]*)/g)].map((use) => `${use[1]}(${use[2]})`), ['setItem(demoKey)', 'getItem(demoKey)', 'removeItem(demoKey)']);
  t.match(script, /^const demoKey = `roost-demo:\$\{roostUrl\}:authorization`;$/m);
  const client = await fetch(`${roost.url}/roost.js`);
  t.equal(client.status, 200);
  t.equal(client.headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.match(await client.text(), /export function createRoostClient/);
});

t.test("in sandbox mode roost's own page is a registered return_to: the code flow roost.js runs comes back to it and redeems", async (t) => {
  t.same(roost.config.returnToUrls.map((uri) => uri.written), [...APP_RETURN_URLS, `${roost.url}/`]);
  const verifier = 'a-verifier-of-the-page-'.padEnd(43, 'x');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const back = await signIn(new Browser(), roost, {
    returnTo: `${roost.url}/`,
    user: 2,
    loginQuery: { state: 'page-state', code_challenge: challenge, code_challenge_method: 'S256' },
  });
  t.equal(back.status, 302);
  const answer = new URL(back.location ?? '');
  t.equal(`${answer.origin}${answer.pathname}`, `${roost.url}/`);
  t.equal(answer.searchParams.get('state'), 'page-state');
  t.equal(answer.searchParams.has('iss'), false, 'no iss: the page tells this answer from one of /authorize by it');
  // As roost.js redeems it: a form body, redirect_uri the page.
  const tokens = await fetch(`${roost.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code: answer.searchParams.get('code') ?? '', code_verifier: verifier, redirect_uri: `${roost.url}/` }),
  });
  t.equal(tokens.status, 200);
  t.match(await tokens.json(), { token_type: 'Bearer', access_token: /\./, refresh_token: /./ });

  const fragment = await signIn(new Browser(), roost, { returnTo: `${roost.url}/`, loginQuery: { state: 'page-state' } });
  t.equal(fragmentOf(fragment.location).get('state'), 'page-state', 'the fragment mode comes back to the page too');
  const elsewhere = await fetch(`${roost.url}/login?return_to=${encodeURIComponent(`${roost.url}/docs/`)}`, { redirect: 'manual' });
  t.equal(elsewhere.status, 400, 'another page of roost is not registered');
  t.match(await elsewhere.json(), { code: 'return_to_not_allowed' });
});

t.test('a cancelled sign-in comes back to the page with error=access_denied and the state, in the query as roost.js reads it', async (t) => {
  const back = await signIn(new Browser(), roost, {
    returnTo: `${roost.url}/`,
    action: 'cancel',
    loginQuery: { state: 's1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' },
  });
  const answer = new URL(back.location ?? '');
  t.equal(`${answer.origin}${answer.pathname}${answer.hash}`, `${roost.url}/`);
  t.same([...answer.searchParams.keys()], ['error', 'error_description', 'state']);
  t.equal(answer.searchParams.get('error'), 'access_denied');
  t.match(answer.searchParams.get('error_description'), /did not authorize/);
  t.equal(answer.searchParams.get('state'), 's1');
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

t.test('the discovery document names roost, whose page the script makes its return_to', async (t) => {
  const discovery = (await (await fetch(`${roost.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.equal(discovery.issuer, roost.url, 'the issuer is PUBLIC_URL, and `${issuer}/` the registered page');
});

t.test('the banner says which protocol the sandbox signs in with', async (t) => {
  t.match(await (await fetch(`${roost.url}/`)).text(), '<strong id="protocol">OAuth 1.0a</strong>');
  const oauth2 = await startRoost(t, { sandbox: true, protocol: 'oauth2' });
  const page = await (await fetch(`${oauth2.url}/`)).text();
  t.match(page, '<strong id="protocol">OAuth 2.0 with PKCE</strong>');
  t.notMatch(page, '{{protocol}}');
});

t.test('the OpenID Connect section: the demo client is config\'s, and with no client registered the page has the words to register it', async (t) => {
  const script = await (await fetch(`${roost.url}/home.js`)).text();
  t.match(script, `const DEMO_CLIENT_ID = '${DEMO_CLIENT_ID}';`, 'the client id src/config.ts registers');
  const html = await (await fetch(`${roost.url}/`)).text();
  t.match(html, '<button type="button" id="oidc-sign-in">Sign in with OpenID Connect</button>');
  t.match(html, /<div id="oidc-off" hidden>[^]*register it and restart roost:<\/p>\s*<pre class="wrap" id="oidc-register"><\/pre>/, 'hidden until the script reads discovery');
  t.match(script, "$('oidc-register').textContent = `OIDC_CLIENTS='${JSON.stringify([{ client_id: DEMO_CLIENT_ID, redirect_uris: [demoRedirectUri] }])}'`", 'the entry, with this page as its redirect URI');
  t.match(html, '<code>docs/oidc.md</code>', 'where the provider is explained');
  // Beside a database of its own (DATABASE_URL), the sandbox registers no demo client: the provider is off, and the script shows the off part.
  const discovery = (await (await fetch(`${roost.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.equal(discovery.authorization_endpoint, `${roost.url}/login`, 'the short discovery document names roost\'s own /login, which the page does not take for /authorize');
  const authorize = await fetch(`${roost.url}/authorize?client_id=${DEMO_CLIENT_ID}`, { redirect: 'manual' });
  t.equal(authorize.status, 404);
  await authorize.arrayBuffer();
});

