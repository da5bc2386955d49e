// CORS over real HTTP: preflights and responses for the app routes, from
// allowed and refused origins, and no CORS anywhere else.
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const OTHER_APP = 'http://other-app.test';
const roost = await startRoost(t, { env: { RETURN_TO_URLS: `${APP_ORIGIN}/signed-in,${OTHER_APP}/cb?tab=1` } });

function preflight(path: string, origin: string | undefined, method = 'POST', headers = 'content-type') {
  return fetch(`${roost.url}${path}`, {
    method: 'OPTIONS',
    headers: { ...(origin ? { origin } : {}), 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

t.test('allowed origins get preflights for the app routes', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['/token', 'POST', 'content-type'],
    ['/logout', 'POST', 'authorization,content-type'],
    ['/me', 'GET', 'authorization'],
    ['/me', 'DELETE', 'authorization'],
    ['/sessions', 'GET', 'authorization'],
    ['/sessions/00000000-0000-4000-8000-000000000000', 'DELETE', 'authorization'],
  ];
  for (const origin of [APP_ORIGIN, OTHER_APP]) {
    for (const [path, method, headers] of cases) {
      const response = await preflight(path, origin, method, headers);
      const name = `${origin} ${method} ${path}`;
      t.equal(response.status, 204, name);
      t.equal(response.headers.get('access-control-allow-origin'), origin, name);
      t.match(response.headers.get('access-control-allow-methods'), new RegExp(method), name);
      t.equal(response.headers.get('access-control-allow-headers'), 'authorization, content-type', name);
      t.equal(response.headers.get('access-control-max-age'), '600', name);
      t.notOk(response.headers.get('access-control-allow-credentials'), `${name}: no credentials`);
      t.match(response.headers.get('vary'), /Origin/, name);
    }
  }
});

t.test('refused origins get no CORS permission', async (t) => {
  for (const origin of ['https://evil.example', 'http://app.test.evil.example', 'http://app.test:8080', 'https://app.test', 'null']) {
    for (const path of ['/token', '/logout', '/me', '/sessions']) {
      const response = await preflight(path, origin);
      t.notOk(response.headers.get('access-control-allow-origin'), `${origin} ${path}`);
    }
  }
});

t.test('other routes answer no CORS at all, and their preflights are 404s', async (t) => {
  for (const path of ['/login', '/login/callback', '/.well-known/jwks.json', '/healthz', '/openapi.yaml', '/tokens', '/me/x']) {
    const response = await preflight(path, APP_ORIGIN, 'GET');
    t.equal(response.status, 404, path);
    t.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8', path);
    t.notOk(response.headers.get('access-control-allow-origin'), path);
    const plain = await fetch(`${roost.url}${path}`, { headers: { origin: APP_ORIGIN }, redirect: 'manual' });
    t.notOk(plain.headers.get('access-control-allow-origin'), `GET ${path}`);
  }
});

t.test('actual responses carry the allowed origin and expose the useful headers', async (t) => {
  const token = fragmentOf((await signIn(new Browser(), roost)).location).get('access_token') as string;
  const ok = await fetch(`${roost.url}/me`, { headers: { origin: APP_ORIGIN, authorization: `Bearer ${token}` } });
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('access-control-allow-origin'), APP_ORIGIN);
  t.equal(ok.headers.get('access-control-expose-headers'), 'www-authenticate, x-request-id, retry-after');
  const refused = await fetch(`${roost.url}/me`, { headers: { origin: APP_ORIGIN } });
  t.equal(refused.status, 401);
  t.equal(refused.headers.get('access-control-allow-origin'), APP_ORIGIN, 'an error is readable too, with its WWW-Authenticate');
  const foreign = await fetch(`${roost.url}/me`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${token}` } });
  t.notOk(foreign.headers.get('access-control-allow-origin'), 'a foreign page cannot read the profile');
  const token2 = await fetch(`${roost.url}/token`, { method: 'POST', headers: { origin: APP_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=x' });
  t.equal(token2.status, 400);
  t.equal(token2.headers.get('access-control-allow-origin'), APP_ORIGIN);
});

t.test('a 404 on a CORS path is readable by an allowed origin, and only by it', async (t) => {
  for (const [method, path] of [['GET', '/token'], ['POST', '/me'], ['PUT', '/sessions/x'], ['GET', '/logout']] as const) {
    const allowed = await fetch(`${roost.url}${path}`, { method, headers: { origin: APP_ORIGIN } });
    t.equal(allowed.status, 404, `${method} ${path}`);
    t.equal(allowed.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.equal(allowed.headers.get('access-control-allow-origin'), APP_ORIGIN, `${method} ${path}`);
    t.equal(allowed.headers.get('access-control-expose-headers'), 'www-authenticate, x-request-id, retry-after');
    t.match(allowed.headers.get('vary'), /Origin/);
    const foreign = await fetch(`${roost.url}${path}`, { method, headers: { origin: 'https://evil.example' } });
    t.equal(foreign.status, 404);
    t.notOk(foreign.headers.get('access-control-allow-origin'), `${method} ${path} from a foreign origin`);
  }
  const elsewhere = await fetch(`${roost.url}/no-such-route`, { headers: { origin: APP_ORIGIN } });
  t.equal(elsewhere.status, 404);
  t.notOk(elsewhere.headers.get('access-control-allow-origin'), 'other paths stay closed');
});

t.test('a preflight without Origin is no CORS request', async (t) => {
  const response = await preflight('/token', undefined);
  t.notOk(response.headers.get('access-control-allow-origin'));
  t.not(response.status, 500);
});

t.test('a loopback redirect URI allows its host on any port, as its redirect does; CORS_ORIGINS allows exactly what it lists', async (t) => {
  const dev = await startRoost(t, { env: { RETURN_TO_URLS: 'http://localhost:5173/signed-in' } });
  const ask = (on: typeof dev, origin: string, path = '/token') =>
    fetch(`${on.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  for (const origin of ['http://localhost:5173', 'http://localhost:5180', 'http://localhost']) {
    t.equal((await ask(dev, origin)).headers.get('access-control-allow-origin'), origin, `${origin}: allowed`);
  }
  for (const origin of ['https://localhost:5173', 'http://localhost.evil.example:5173', 'http://127.0.0.1:5173', 'http://localhost:5173.evil.example', 'http://evil.localhost:5173']) {
    t.equal((await ask(dev, origin)).headers.get('access-control-allow-origin'), null, `${origin}: refused`);
  }
  const missing = await fetch(`${dev.url}/tokenz`, { headers: { origin: 'http://localhost:5180' } });
  t.equal(missing.status, 404);
  t.equal(missing.headers.get('access-control-allow-origin'), null, 'a 404 off the CORS paths carries none');
  const put = await fetch(`${dev.url}/me`, { method: 'PUT', headers: { origin: 'http://localhost:5180' } });
  t.equal(put.headers.get('access-control-allow-origin'), 'http://localhost:5180', 'a 404 on a CORS path can be read from any port too');

  const exact = await startRoost(t, { env: { RETURN_TO_URLS: 'http://localhost:5173/signed-in', CORS_ORIGINS: 'http://localhost:5173' } });
  t.equal((await ask(exact, 'http://localhost:5173')).headers.get('access-control-allow-origin'), 'http://localhost:5173');
  t.equal((await ask(exact, 'http://localhost:5180')).headers.get('access-control-allow-origin'), null, 'CORS_ORIGINS is exact');
});
