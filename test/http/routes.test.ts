// Every route's bad input: a clear 4xx in problem+json, never a redirect
// off the allowlist and never a 5xx.
import { SignJWT, generateKeyPair } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

let clock = Date.now();
const roost = await startRoost(t, { now: () => clock });
const PROBLEM = 'application/problem+json; charset=utf-8';

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${roost.url}${path}`, { headers, redirect: 'manual' });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

t.test('GET /healthz', async (t) => {
  const response = await get('/healthz');
  t.equal(response.status, 200);
  t.same(response.json(), { status: 'ok' });
});

t.test('GET /openapi.yaml serves the contract', async (t) => {
  const response = await get('/openapi.yaml');
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^application\/yaml/);
  t.match(response.body, /^openapi: 3\.1/m);
});

t.test('GET / describes the service when the sandbox is off', async (t) => {
  const response = await get('/');
  t.equal(response.status, 200);
  t.same(response.json(), { name: 'roost', issuer: roost.url, jwks_uri: `${roost.url}/.well-known/jwks.json`, openapi: `${roost.url}/openapi.yaml` });
});

t.test('unknown routes and methods are problem+json 404s', async (t) => {
  for (const [method, path] of [['GET', '/nope'], ['POST', '/login'], ['PUT', '/me'], ['GET', '/sandbox/twitter/oauth/authenticate'], ['GET', '/home.js'], ['GET', '/home.css']]) {
    const response = await fetch(`${roost.url}${path}`, { method: method as string });
    t.equal(response.status, 404, `${method} ${path}`);
    t.equal(response.headers.get('content-type'), PROBLEM);
    t.match(await response.json(), { code: 'not_found', status: 404 });
  }
});

t.test('GET /login refuses bad return_to', async (t) => {
  const cases: Array<[string, string]> = [
    ['', 'invalid_request'],
    ['?return_to=', 'invalid_request'],
    ['?return_to=http%3A%2F%2Fapp.test%2F&return_to=http%3A%2F%2Fapp.test%2Fb', 'invalid_request'],
    ['?return_to=https%3A%2F%2Fevil.example%2F', 'return_to_not_allowed'],
    ['?return_to=%2F%2Fevil.example', 'invalid_request'],
    ['?return_to=http%3A%2F%2Fapp.test%40evil.example%2F', 'return_to_not_allowed'],
    ['?return_to=javascript%3Aalert(1)', 'return_to_not_allowed'],
    ['?return_to=http%3A%2F%2Fapp.test%2F%23frag', 'return_to_not_allowed'],
    [`?return_to=${encodeURIComponent(`${APP_ORIGIN}/${'a'.repeat(3000)}`)}`, 'invalid_request'],
  ];
  for (const [query, code] of cases) {
    const response = await get(`/login${query}`);
    t.equal(response.status, 400, query.slice(0, 80));
    t.equal(response.headers.get('content-type'), PROBLEM);
    t.notOk(response.headers.get('location'), 'no redirect');
    t.notOk(response.headers.get('set-cookie'), 'no cookie');
    t.match(response.json(), { code, status: 400, type: `urn:roost:problem:${code}`, title: String, detail: String });
  }
});

t.test('GET /login/callback refuses malformed and repeated parameters', async (t) => {
  const cases = [
    '',
    '?oauth_token=a',
    '?oauth_verifier=v',
    '?oauth_token=a&oauth_token=b&oauth_verifier=v',
    '?oauth_token=a&oauth_verifier=v&oauth_verifier=w',
    '?denied=a&denied=a',
    '?denied=a&oauth_token=a',
    '?oauth_token=%3Cscript%3E&oauth_verifier=v',
    `?oauth_token=${'a'.repeat(600)}&oauth_verifier=v`,
  ];
  for (const query of cases) {
    const response = await get(`/login/callback${query}`);
    t.equal(response.status, 400, query.slice(0, 80));
    t.match(response.json(), { code: 'invalid_callback' });
    t.equal(response.headers.get('cache-control'), 'no-store');
  }
});

t.test('GET /login/callback for unknown flows', async (t) => {
  const unknown = await get('/login/callback?oauth_token=unknown&oauth_verifier=v');
  t.equal(unknown.status, 400);
  t.match(unknown.json(), { code: 'flow_not_found' });
  const denied = await get('/login/callback?denied=unknown');
  t.equal(denied.status, 400);
  t.match(denied.json(), { code: 'flow_not_found' });
});

t.test('GET /me', async (t) => {
  const callback = await signIn(new Browser(), roost);
  const token = fragmentOf(callback.location).get('access_token') as string;
  const ok = await get('/me', { authorization: `Bearer ${token}` });
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('cache-control'), 'no-store');

  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const { privateKey: otherKey } = await generateKeyPair('ES256');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string };
  const wrongKey = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'at+jwt' }).sign(otherKey);
  const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`;
  const tamperedClaims = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
  const noUser = await new SignJWT({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })
    .setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'at+jwt' })
    .sign(roost.deps.signingKey().privateKey);

  const cases: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['a token without scheme', { authorization: token }],
    ['garbage', { authorization: 'Bearer not-a-jwt' }],
    ['bad characters', { authorization: 'Bearer a.b.c"<>' }],
    ['an oversized header', { authorization: `Bearer ${'a'.repeat(9000)}` }],
    ['tampered claims', { authorization: `Bearer ${h}.${tamperedClaims}.${s}` }],
    ['a broken signature', { authorization: `Bearer ${h}.${p}.${s.slice(0, -4)}AAAA` }],
    ['alg none', { authorization: `Bearer ${none}` }],
    ['signed by another key', { authorization: `Bearer ${wrongKey}` }],
    ['a user that does not exist', { authorization: `Bearer ${noUser}` }],
  ];
  for (const [name, headers] of cases) {
    const response = await get('/me', headers);
    t.equal(response.status, 401, name);
    t.equal(response.headers.get('content-type'), PROBLEM);
    t.match(response.headers.get('www-authenticate'), /^Bearer realm="roost", error="invalid_token", error_description="[^"]+"$/, name);
    t.match(response.json(), { code: 'invalid_token', status: 401 });
  }

  clock += 901_000;
  t.teardown(() => {
    clock = Date.now();
  });
  const expired = await get('/me', { authorization: `Bearer ${token}` });
  t.equal(expired.status, 401, 'expired');
  t.match(expired.json(), { code: 'invalid_token' });
});

t.test('request ids: a safe one is echoed, anything else replaced', async (t) => {
  t.equal((await get('/healthz', { 'x-request-id': 'abc-123' })).headers.get('x-request-id'), 'abc-123');
  const replaced = (await get('/healthz', { 'x-request-id': 'bad id<script>' })).headers.get('x-request-id');
  t.match(replaced, /^[0-9a-f-]{36}$/);
});
