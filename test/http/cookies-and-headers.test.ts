// What the browser is told: the flow cookie's attributes, security headers
// on HTML pages and token-carrying redirects, no input reflected as markup,
// and problem+json even for requests too broken to reach a route.
import { connect } from 'node:net';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost, type Roost } from '../helpers/roost.js';

const PROBLEM = 'application/problem+json; charset=utf-8';
const returnTo = encodeURIComponent(`${APP_ORIGIN}/`);

/** The address a roost listens on, whatever PUBLIC_URL says. */
const local = (roost: Roost) => `http://127.0.0.1:${roost.config.port}`;

t.test('with an https PUBLIC_URL the whole flow runs on the __Host- cookie', async (t) => {
  const roost = await startRoost(t, { env: { PUBLIC_URL: 'https://auth.roost.test' } });
  // Listening on plain http here, as behind a TLS-terminating proxy.
  const onPort = { ...roost, url: local(roost) };
  const callbackHere = (url: string) => {
    const parsed = new URL(url);
    return `${local(roost)}${parsed.pathname}${parsed.search}`;
  };

  // The proxy says which host the browser asked for; without it, /login would first move to PUBLIC_URL.
  const viaProxy = { 'x-forwarded-host': 'auth.roost.test' };
  const browser = new Browser(viaProxy);
  const { login, callbackUrl } = await consent(browser, onPort);
  t.match(login.headers.get('set-cookie'), /^__Host-roost_flow=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  t.equal(login.headers.get('strict-transport-security'), 'max-age=31536000');
  t.match(callbackUrl, /^https:\/\/auth\.roost\.test\/login\/callback\?/, 'Twitter sends the browser to the https callback');
  const callback = await browser.get(callbackHere(callbackUrl));
  t.equal(callback.status, 302);
  t.ok(fragmentOf(callback.location).get('access_token'), 'signed in');
  t.match(callback.headers.get('set-cookie'), /^__Host-roost_flow=; Max-Age=0; Path=\/;.*Secure/, 'the cookie is cleared');

  const started = new Browser(viaProxy);
  const second = await consent(started, onPort);
  const unprefixed = new Browser(viaProxy);
  unprefixed.cookies.set('roost_flow', started.cookies.get('__Host-roost_flow') as string);
  const refused = await unprefixed.get(callbackHere(second.callbackUrl));
  t.equal(refused.status, 302);
  t.equal(fragmentOf(refused.location).get('error'), 'access_denied', 'the same value under the unprefixed name does not count');
  t.equal(fragmentOf(refused.location).get('access_token'), null);
});

t.test('redirects that carry a token say no-store and no-referrer', async (t) => {
  const roost = await startRoost(t);
  const login = await new Browser().get(`${roost.url}/login?return_to=${returnTo}`);
  t.equal(login.status, 302);
  t.match(login.location, /oauth_token=/);
  t.equal(login.headers.get('cache-control'), 'no-store');
  t.equal(login.headers.get('referrer-policy'), 'no-referrer');
  t.equal(login.headers.get('strict-transport-security'), null, 'no HSTS over plain http');
});

t.test('HTML pages send security headers', async (t) => {
  const roost = await startRoost(t, { sandbox: true });
  const home = await fetch(`${local(roost)}/`);
  const login = await new Browser().get(`${local(roost)}/login?return_to=${encodeURIComponent(`${roost.url}/`)}`);
  const consentUrl = (login.location as string).replace(roost.url, local(roost));
  const consent = await fetch(consentUrl);
  const errorPage = await fetch(`${local(roost)}/sandbox/twitter/oauth/authenticate?oauth_token=unknown`);
  for (const [name, response] of [['landing page', home], ['consent page', consent], ['sandbox error page', errorPage]] as const) {
    t.match(response.headers.get('content-type'), /^text\/html/, name);
    const csp = response.headers.get('content-security-policy') ?? '';
    t.match(csp, /frame-ancestors 'none'/, `${name}: not framable (CSP)`);
    t.match(csp, /base-uri 'none'/, `${name}: no <base> hijack`);
    t.notMatch(/script-src[^;]*/.exec(csp)?.[0] ?? '', /unsafe-inline/, `${name}: no inline script`);
    t.equal(response.headers.get('x-frame-options'), 'DENY', `${name}: not framable (legacy header)`);
    t.equal(response.headers.get('x-content-type-options'), 'nosniff', name);
    t.equal(response.headers.get('referrer-policy'), 'no-referrer', name);
    t.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin', name);
  }
  t.equal(consent.headers.get('cache-control'), 'no-store', 'the consent page carries a request token');
});

t.test('no endpoint reflects input as markup', async (t) => {
  const roost = await startRoost(t, { sandbox: true });
  const payload = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
  const encoded = encodeURIComponent(payload);
  const paths = [
    `/${encoded}`,
    `/login?return_to=${encoded}`,
    `/login?return_to=${encodeURIComponent(`${roost.url}/${payload}`)}`,
    `/login/callback?oauth_token=${encoded}&oauth_verifier=${encoded}`,
    `/login/callback?denied=${encoded}`,
    `/me`,
    `/healthz?x=${encoded}`,
    `/.well-known/jwks.json?x=${encoded}`,
    `/sandbox/twitter/oauth/authenticate?oauth_token=${encoded}`,
    `/sandbox/twitter/oauth/request_token?x=${encoded}`,
    `/sandbox/twitter/1.1/account/verify_credentials.json?${encoded}=${encoded}`,
  ];
  const headers = { authorization: `Bearer ${payload.replace(/[^\x21-\x7e]/g, '')}`, cookie: `roost_flow=${encoded}`, 'x-request-id': encoded };
  for (const path of paths) {
    for (const method of ['GET', 'POST']) {
      const response = await fetch(`${local(roost)}${path}`, { method, headers, redirect: 'manual' });
      const body = await response.text();
      t.notOk(body.includes('<script>alert(1)') || body.includes('<img src=x'), `${method} ${path.slice(0, 50)}: ${response.status}`);
      t.ok(response.status < 500, `${method} ${path.slice(0, 50)}: no 5xx`);
    }
  }
  // A raw request line keeps < and > unencoded; the 404 quotes the path, escaped.
  const answer = await raw(roost, 'GET /<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.match(answer, /^HTTP\/1.1 404 /);
  t.notMatch(answer, /<script>/);
  t.match(answer, /No route for GET \/\\u003cscript\\u003ealert\(1\)\\u003c\/script\\u003e/, 'the path is quoted, escaped');
});

/** Writes raw bytes to roost and reads the whole answer. */
function raw(roost: Roost, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(roost.config.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.end(request);
  });
}

t.test('requests too broken to reach a route still get problem+json', async (t) => {
  const roost = await startRoost(t, { env: { LOG_LEVEL: 'trace' } });
  const cases: Array<[string, string, number, string]> = [
    ['a garbage request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'invalid_request'],
    ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n', 400, 'invalid_request'],
    ['a control character in a header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n', 400, 'invalid_request'],
    ['headers over 16 KiB', `GET /login?return_to=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'headers_too_large'],
    ['a huge cookie', `GET /me HTTP/1.1\r\nHost: x\r\nCookie: roost_flow=${'c'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
  ];
  for (const [name, request, status, code] of cases) {
    const answer = await raw(roost, request);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    t.match(head, new RegExp(`^HTTP/1.1 ${status} `), name);
    t.match(head, /content-type: application\/problem\+json; charset=utf-8/i, name);
    t.match(JSON.parse(body), { code, status }, name);
  }
  t.notMatch(roost.rawLogs.join('\n'), /c{100}|rawPacket/, 'the raw request is not logged, even at trace');
});

t.test('a path the router cannot decode is a 404 problem with every header', async (t) => {
  const roost = await startRoost(t);
  for (const path of ['/sessions/%ZZ', `/sessions/${'a'.repeat(150)}`]) {
    const response = await fetch(`${roost.url}${path}`, { method: 'DELETE', headers: { 'x-request-id': 'bad-url-1' } });
    t.equal(response.status, 404, path.slice(0, 20));
    t.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.match(await response.json(), { code: 'not_found' });
    t.equal(response.headers.get('x-content-type-options'), 'nosniff');
    t.equal(response.headers.get('x-frame-options'), 'DENY');
    t.equal(response.headers.get('x-request-id'), 'bad-url-1');
    t.equal(response.headers.get('cache-control'), 'no-store');
  }
});

t.test('with an https PUBLIC_URL reached over plain http, TLS ends at a proxy: /login does not move, whatever the Host', async (t) => {
  const roost = await startRoost(t, { env: { PUBLIC_URL: 'https://auth.roost.test' } });
  const login = await new Browser().get(`${local(roost)}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/signed-in`)}`);
  t.equal(login.status, 302);
  t.match(login.location, /\/oauth\/authenticate\?oauth_token=/, 'straight on to Twitter, not round to https://auth.roost.test');
});
