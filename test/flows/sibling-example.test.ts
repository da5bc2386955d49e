// examples/sibling-service runs as a user would start it, against a live
// roost in sandbox mode (real Postgres and Redis); its token comes from a
// real sign-in through the sandbox. 200 with a valid token, 401 for every
// kind of bad one, 503 (never 200) when roost's keys cannot be fetched.
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { startNode } from '../helpers/child.js';
import { signIn } from '../helpers/flow.js';
import { freePort, startRoost } from '../helpers/roost.js';

const AUDIENCE = 'hello-api';
const EXAMPLE = 'examples/sibling-service/server.js';
const roost = await startRoost(t, { sandbox: true, env: { JWT_AUDIENCE: AUDIENCE } });
const service = startNode(t, [EXAMPLE], { ROOST_URL: roost.url, AUDIENCE, PORT: '0' });
const serviceUrl = (await service.waitFor(/listening on (http\S+),/, 10_000))[1] as string;

const back = await signIn(new Browser(), roost, { returnTo: `${roost.url}/`, user: 1 });
const token = fragmentOf(back.location).get('access_token') as string;

async function hello(authorization?: string, base = serviceUrl) {
  const response = await fetch(`${base}/hello`, authorization === undefined ? {} : { headers: { authorization } });
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: (await response.json()) as Record<string, unknown> };
}

/** A token signed with roost's own key; each bad variant below changes one thing. */
async function mint(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key = roost.deps.signingKey().privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const defaults = { iss: roost.url, aud: AUDIENCE, sub: randomUUID(), iat: now, exp: now + 300, jti: randomUUID(), screen_name: 'minted' };
  return new SignJWT({ ...defaults, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: roost.deps.signingKey().kid, typ: 'at+jwt', ...header })
    .sign(key);
}

t.test('a token from a real sandbox sign-in: 200 with the user', async (t) => {
  const answer = await hello(`Bearer ${token}`);
  t.equal(answer.status, 200);
  t.equal(answer.body.hello, 'bob');
  t.match(answer.body.sub, /^[0-9a-f-]{36}$/);
  t.equal((await hello(`Bearer ${await mint()}`)).status, 200, 'the baseline the bad variants start from is accepted');
});

t.test('no token, or not a bearer token: 401 with a challenge and no error code', async (t) => {
  for (const authorization of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${token} extra`, token]) {
    const answer = await hello(authorization);
    t.equal(answer.status, 401, `Authorization: ${String(authorization).slice(0, 20)}`);
    t.equal(answer.challenge, 'Bearer realm="hello-api"');
  }
});

t.test('bad tokens: 401 invalid_token', async (t) => {
  const [header, claims, signature] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
  const changed = Buffer.from(JSON.stringify({ ...payload, screen_name: 'mallory' })).toString('base64url');
  const otherKey = (await generateKeyPair('ES256')).privateKey;
  const hmacKey = new TextEncoder().encode(JSON.stringify(roost.deps.signingKey().publicJwk));
  const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
  const cases: Array<[string, string, string]> = [
    ['not a JWT', 'garbage', 'the token is not a well-formed signed JWT'],
    ['a changed claim', `${header}.${changed}.${signature}`, 'the signature does not match'],
    ['another signature', `${header}.${claims}.${(await mint()).split('.')[2]}`, 'the signature does not match'],
    ['signed by another key under roost’s kid', await mint({}, {}, otherKey), 'the signature does not match'],
    ['an unknown kid', await mint({}, { kid: 'not-a-roost-key' }, otherKey), "the token's key is not one roost publishes"],
    ['another audience', await mint({ aud: 'other-api' }), `the token's aud claim is not accepted (check_failed)`],
    ['another issuer', await mint({ iss: 'https://evil.example' }), `the token's iss claim is not accepted (check_failed)`],
    ['expired', await mint({ exp: Math.floor(Date.now() / 1000) - 60 }), 'the token has expired'],
    ['not an access token (typ JWT)', await mint({}, { typ: 'JWT' }), `the token's typ claim is not accepted (check_failed)`],
    ['alg none', `${noneHeader}.${claims}.`, "the token's algorithm is not ES256"],
    ['HS256 keyed with the public key', await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(hmacKey), "the token's algorithm is not ES256"],
  ];
  for (const [name, bad, why] of cases) {
    const logged = service.output().length;
    const answer = await hello(`Bearer ${bad}`);
    t.equal(answer.status, 401, name);
    t.equal(answer.challenge, `Bearer realm="hello-api", error="invalid_token", error_description="${why}"`, name);
    t.same(answer.body, { error: 'invalid_token', error_description: why }, name);
    // The log line may reach the pipe after the answer: wait for it, counting only what came after this request.
    const deadline = Date.now() + 5000;
    while (!service.output().slice(logged).includes('refused a token') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const line = service.output().slice(logged);
    t.match(line, `hello-api: refused a token: ${why}`, `${name}: the log says why`);
    t.notMatch(line, bad.split('.').find((part) => part.length > 20) ?? bad, `${name}: and does not print the token`);
  }
});

t.test('other routes are 404', async (t) => {
  t.equal((await fetch(`${serviceUrl}/`)).status, 404);
  t.equal((await fetch(`${serviceUrl}/hello`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 404);
});

t.test('roost unreachable: 503, never 200, and the token is not printed', async (t) => {
  const cut = startNode(t, [EXAMPLE], { ROOST_URL: `http://127.0.0.1:${await freePort()}`, AUDIENCE, PORT: '0' });
  const cutUrl = (await cut.waitFor(/listening on (http\S+),/, 10_000))[1] as string;
  const answer = await hello(`Bearer ${token}`, cutUrl);
  t.equal(answer.status, 503);
  t.same(answer.body, { error: 'keys_unavailable' });
  await cut.waitFor(/cannot check tokens/);
  t.notMatch(cut.output() + service.output(), token.split('.')[2] as string, 'no token in the output');
  t.equal(await cut.stop(), 0, 'SIGTERM closes it');
});

t.test('without AUDIENCE the example refuses to start', async (t) => {
  const child = startNode(t, [EXAMPLE], { ROOST_URL: roost.url, PORT: '0' });
  await child.waitFor(/AUDIENCE is required/, 10_000).catch(() => undefined);
  t.equal(await child.stop(), 1);
  t.match(child.output(), /AUDIENCE is required/);
});
