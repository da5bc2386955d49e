// Nothing secret reaches the logs, even at LOG_LEVEL=trace: full sign-ins,
// a cancelled one, Twitter, Redis and Postgres failing, bad tokens and
// broken requests. Every line is captured and searched for every secret.
// A failed callback's way back to the app (its error_description) carries
// none of them either.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import t from 'tap';
import { decryptSecret } from '../../src/keys/crypto-box.js';
import { addedTo } from '../helpers/back-at-app.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import { answer, hang, reset, startFakeTwitter, twitterError, WORKING, type Behaviour, type Endpoint } from '../helpers/fake-twitter.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const consumerSecret = secret('consumer-secret');
const encryptionKey = randomBytes(32);
const cookieSecret = randomBytes(32).toString('hex');

// Everything the fake Twitter hands out is fresh for each flow and remembered here.
const secrets = new Map<string, string>([
  ['consumer secret', consumerSecret],
  ['encryption key (hex)', encryptionKey.toString('hex')],
  ['encryption key (base64)', encryptionKey.toString('base64')],
  ['cookie secret', cookieSecret],
]);
let flows = 0;
const twitter = await startFakeTwitter();
t.teardown(() => twitter.close());
const authorizationHeaders: string[] = [];
const remember = (endpoint: Endpoint, behaviour: Behaviour): Behaviour => (request, response) => {
  const header = String(request.headers.authorization);
  authorizationHeaders.push(header);
  secrets.set(`Authorization header sent to ${endpoint} #${authorizationHeaders.length}`, header);
  secrets.set(`oauth_signature sent to ${endpoint} #${authorizationHeaders.length}`, /oauth_signature="([^"]+)"/.exec(header)?.[1] as string);
  behaviour(request, response);
};
function issueFreshTokens() {
  flows += 1;
  const tokens = { requestToken: secret('request-token'), requestSecret: secret('request-secret'), accessToken: secret('access-token'), accessSecret: secret('access-secret') };
  secrets.set(`request token ${flows}`, tokens.requestToken);
  secrets.set(`request token secret ${flows}`, tokens.requestSecret);
  secrets.set(`access token ${flows}`, tokens.accessToken);
  secrets.set(`access token secret ${flows}`, tokens.accessSecret);
  twitter.behaviours.request_token = remember('request_token', answer(200, `oauth_token=${tokens.requestToken}&oauth_token_secret=${tokens.requestSecret}&oauth_callback_confirmed=true`));
  twitter.behaviours.access_token = remember('access_token', answer(200, `oauth_token=${tokens.accessToken}&oauth_token_secret=${tokens.accessSecret}&user_id=42&screen_name=fake`));
  twitter.behaviours.verify_credentials = remember('verify_credentials', WORKING.verify_credentials);
  return tokens;
}

const { postgres, redis, databaseUrl, redisUrl } = await startDependencyProxies(t);
const roost = await startRoost(t, {
  providerUrl: twitter.url,
  env: {
    LOG_LEVEL: 'trace',
    TWITTER_CONSUMER_SECRET: consumerSecret,
    ENCRYPTION_KEY: encryptionKey.toString('hex'),
    COOKIE_SECRET: cookieSecret,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
  },
});

/** /login and the callback with the fake's tokens; records the verifier, cookie and resulting token as secrets. */
async function flow(callbackQuery: (tokens: ReturnType<typeof issueFreshTokens>, verifier: string) => string, loginQuery: Record<string, string> = {}) {
  const tokens = issueFreshTokens();
  const verifier = secret('verifier');
  secrets.set(`verifier ${flows}`, verifier);
  const browser = new Browser();
  const login = await browser.get(`${roost.url}/login?${new URLSearchParams({ return_to: `${APP_ORIGIN}/`, ...loginQuery })}`);
  for (const [name, value] of browser.cookies) {
    secrets.set(`flow cookie ${flows}`, value);
    secrets.set(`flow cookie binding ${flows}`, decodeURIComponent(value).split('.')[0] as string);
    t.comment(`cookie ${name}`);
  }
  const callback = await browser.get(`${roost.url}/login/callback?${callbackQuery(tokens, verifier)}`);
  const token = fragmentOf(callback.location ?? '#').get('access_token');
  if (token) {
    secrets.set(`access token JWT ${flows}`, token);
    const [, payload, signature] = token.split('.');
    secrets.set(`JWT signature ${flows}`, signature as string);
    secrets.set(`JWT payload ${flows}`, payload as string);
  }
  return { login, callback, token };
}
const approved = (tokens: { requestToken: string }, verifier: string) => `oauth_token=${tokens.requestToken}&oauth_verifier=${verifier}`;

/** The secrets known so far that a redirect's Location carries, raw or decoded. */
function secretsIn(location: string | null): string[] {
  const texts = [location ?? '', ...Object.values(addedTo(location, `${APP_ORIGIN}/`) ?? {})];
  return [...secrets].filter(([, value]) => texts.some((text) => text.includes(value))).map(([label]) => label);
}

t.test('a successful sign-in, and /me with its token', async (t) => {
  const { callback, token } = await flow(approved);
  t.equal(callback.status, 302);
  t.ok(token);
  t.equal((await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.equal((await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}x` } })).status, 401);
  const row = await roost.deps.db.selectFrom('signing_keys').select(['kid', 'private_jwk_sealed']).where('state', '=', 'current').executeTakeFirstOrThrow();
  const privateJwk = JSON.parse(decryptSecret(roost.deps.encryptionKeys, row.private_jwk_sealed as string, `signing_key:${row.kid}`)) as { d: string };
  secrets.set('signing key private part', privateJwk.d);
});

/** Records an access token, and its parts, as secrets. */
function rememberAccessToken(label: string, token: string) {
  secrets.set(`${label} JWT`, token);
  const [, payload, signature] = token.split('.');
  secrets.set(`${label} JWT payload`, payload as string);
  secrets.set(`${label} JWT signature`, signature as string);
}

/** POSTs a body to roost, remembering the body itself as a secret. */
async function postSecret(label: string, path: string, body: string, contentType: string, headers: Record<string, string> = {}) {
  secrets.set(`${label} (the whole body)`, body);
  const response = await fetch(`${roost.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : {}) as Record<string, string> };
}

t.test('a code-mode sign-in (PKCE), its redemption, refreshes and logouts', async (t) => {
  const codeSignIn = async () => {
    const verifier = randomBytes(48).toString('base64url');
    const { callback } = await flow(approved, { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state: 'st' });
    const code = new URL(callback.location ?? 'http://missing/').searchParams.get('code') as string;
    t.ok(code, 'the callback sends a code');
    secrets.set(`code_verifier ${flows}`, verifier);
    secrets.set(`authorization code ${flows}`, code);
    return { code, verifier };
  };
  const redemption = (code: string, verifier: string) =>
    new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: `${APP_ORIGIN}/` }).toString();
  const form = 'application/x-www-form-urlencoded';

  const first = await codeSignIn();
  // Refused before the code is looked at; the body carries the code all the same.
  const refused = await postSecret('refused /token body', '/token', redemption(first.code, secret('short')), form);
  t.equal(refused.status, 400);
  t.equal(refused.json.error, 'invalid_request');
  const redeemed = await postSecret('/token body (code)', '/token', redemption(first.code, first.verifier), form);
  t.equal(redeemed.status, 200);
  rememberAccessToken('access token from the code', redeemed.json.access_token as string);
  secrets.set('refresh token from the code', redeemed.json.refresh_token as string);

  const refreshed = await postSecret('/token body (refresh)', '/token', new URLSearchParams({ grant_type: 'refresh_token', refresh_token: redeemed.json.refresh_token as string }).toString(), form);
  t.equal(refreshed.status, 200);
  rememberAccessToken('access token from the refresh', refreshed.json.access_token as string);
  secrets.set('refresh token from the refresh', refreshed.json.refresh_token as string);
  const again = await postSecret('/token body (JSON refresh)', '/token', JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshed.json.refresh_token }), 'application/json');
  t.equal(again.status, 200);
  rememberAccessToken('access token from the JSON refresh', again.json.access_token as string);
  secrets.set('refresh token from the JSON refresh', again.json.refresh_token as string);
  // The first refresh token, long spent: reuse ends the session (logged as a warning, by session id).
  const reused = await postSecret('/token body (reuse)', '/token', new URLSearchParams({ grant_type: 'refresh_token', refresh_token: redeemed.json.refresh_token as string }).toString(), form);
  t.equal(reused.status, 400);

  const second = await codeSignIn();
  const tokens = await postSecret('/token body (second code, JSON)', '/token', JSON.stringify(Object.fromEntries(new URLSearchParams(redemption(second.code, second.verifier)))), 'application/json');
  t.equal(tokens.status, 200);
  rememberAccessToken('access token of the second code', tokens.json.access_token as string);
  secrets.set('refresh token of the second code', tokens.json.refresh_token as string);
  const bearer = { authorization: `Bearer ${tokens.json.access_token}` };
  t.equal((await fetch(`${roost.url}/me`, { headers: bearer })).status, 200);
  const out = await postSecret('/logout body (form)', '/logout', new URLSearchParams({ refresh_token: tokens.json.refresh_token as string, return_to: `${APP_ORIGIN}/bye?x=1` }).toString(), form, bearer);
  t.equal(out.status, 303);
  const outAgain = await postSecret('/logout body (JSON)', '/logout', JSON.stringify({ refresh_token: tokens.json.refresh_token, return_to: 'not a uri' }), 'application/json', bearer);
  t.equal(outAgain.status, 400, 'a refused logout');
  t.equal((await fetch(`${roost.url}/me`, { headers: bearer })).status, 401, 'signed out');
});

t.test('a cancelled sign-in', async (t) => {
  const { callback } = await flow((tokens) => `denied=${tokens.requestToken}`, { state: 'cancelled' });
  t.equal(callback.location, `${APP_ORIGIN}/#error=access_denied&error_description=The+user+did+not+authorize+the+app+at+Twitter&state=cancelled`);
});

t.test('a replayed callback and a callback from another browser', async (t) => {
  const tokens = issueFreshTokens();
  const verifier = secret('verifier');
  secrets.set(`verifier ${flows}`, verifier);
  await new Browser().get(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
  const stranger = new Browser();
  stranger.cookies.set('roost_flow', secret('forged-cookie'));
  secrets.set('forged cookie', stranger.cookies.get('roost_flow') as string);
  const mismatch = await stranger.get(`${roost.url}/login/callback?${approved(tokens, verifier)}`);
  t.equal(mismatch.status, 302);
  t.equal(addedTo(mismatch.location, `${APP_ORIGIN}/`)?.error, 'access_denied', 'the app hears the sign-in was refused');
  t.same(secretsIn(mismatch.location), [], 'no secret in the way back to the app');
  t.equal((await stranger.get(`${roost.url}/login/callback?${approved(tokens, verifier)}`)).status, 400);
});

const twitterFailures: Array<[string, Endpoint, Behaviour, string]> = [
  ['Twitter answers 500 at access_token', 'access_token', answer(500, 'oops'), 'temporarily_unavailable'],
  ['Twitter refuses the verifier', 'access_token', answer(401, 'Error processing your OAuth request: Invalid oauth_verifier parameter'), 'access_denied'],
  ['Twitter error 32 at verify_credentials', 'verify_credentials', twitterError(401, 32, 'Could not authenticate you.'), 'server_error'],
  ['Twitter resets the connection at verify_credentials', 'verify_credentials', reset, 'temporarily_unavailable'],
  ['Twitter hangs at access_token', 'access_token', hang, 'temporarily_unavailable'],
];
for (const [name, endpoint, behaviour, error] of twitterFailures) {
  t.test(name, async (t) => {
    const { callback, token } = await flow(
      (tokens, verifier) => {
        twitter.behaviours[endpoint] = remember(endpoint, behaviour);
        return approved(tokens, verifier);
      },
      { state: 'failing' },
    );
    t.equal(callback.status, 302);
    t.match(addedTo(callback.location, `${APP_ORIGIN}/`), { error, error_description: String, state: 'failing' }, `back at the app with ${error}`);
    t.notOk(token, 'no token');
    t.same(secretsIn(callback.location), [], 'no secret in the way back to the app');
  });
}

t.test('Twitter echoes the tokens it was sent in its error', async (t) => {
  const { callback } = await flow((tokens, verifier) => {
    twitter.behaviours.access_token = remember('access_token', (request, response) =>
      twitterError(401, 32, `Could not authenticate ${tokens.requestToken} with ${request.headers.authorization}`)(request, response),
    );
    return approved(tokens, verifier);
  });
  t.equal(callback.status, 302);
  t.match(addedTo(callback.location, `${APP_ORIGIN}/`), { error: 'server_error', error_description: /Twitter error 32/ });
  t.same(secretsIn(callback.location), [], "none of what Twitter echoed is sent on to the app");
  t.notMatch(decodeURIComponent(callback.location ?? ''), /oauth_signature|OAuth oauth_/, 'nor any part of the Authorization header');
});

t.test('Redis away while a flow is stored', async (t) => {
  await redis.cut();
  issueFreshTokens();
  const start = () => new Browser().get(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
  t.equal((await start()).status, 503);
  await redis.restore();
  // The store reconnects on its own; the next test needs it back.
  let back = false;
  for (let attempt = 0; attempt < 60 && !back; attempt++) {
    back = (await start()).status === 302;
    if (!back) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(back, 'sign-ins start again once Redis is back');
});

t.test('Postgres away while the user is stored', async (t) => {
  await postgres.cut();
  t.teardown(() => postgres.restore());
  const { login, callback } = await flow(approved);
  t.equal(login.status, 302, '/login needs no Postgres');
  t.equal(callback.status, 302);
  t.match(addedTo(callback.location, `${APP_ORIGIN}/`), { error: 'temporarily_unavailable', error_description: 'The database did not answer; try again shortly' });
  t.same(secretsIn(callback.location), [], 'no secret in the way back to the app');
});

t.test('a request the HTTP parser refuses, cookie and all', async (t) => {
  const cookie = secret('raw-cookie');
  secrets.set('cookie in a malformed request', cookie);
  const answer = await new Promise<string>((resolve) => {
    const socket = connect(roost.config.port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += String(chunk)));
    socket.on('close', () => resolve(data));
    socket.end(`GET /me HTTP/1.1\r\nHost: x\r\nCookie: roost_flow=${cookie}\r\nAuthorization: Bearer ${cookie}\r\nbroken\r\n\r\n`);
  });
  t.match(answer, /^HTTP\/1.1 400 /);
});

t.test('no secret in any log line', async (t) => {
  const all = roost.rawLogs.join('\n');
  t.equal(roost.config.logLevel, 'trace');
  t.ok(roost.logs.filter((line) => line.msg === 'request' && line.path === '/login/callback').length >= 10, 'every callback was logged');
  t.ok(roost.logs.some((line) => line.msg === 'twitter call failed' && typeof line.message === 'string'), "Twitter's messages were logged");
  t.ok(roost.logs.some((line) => line.level === 50 && typeof line.err === 'object'), 'failures were logged as errors, with the error');
  t.ok(secrets.size > 40, `${secrets.size} secrets checked`);
  for (const [label, value] of secrets) {
    t.notOk(all.includes(value), `no ${label}`);
  }
  for (const word of ['oauth_signature="', 'oauth_verifier=v', 'Bearer ', 'rawPacket', 'set-cookie', 'grant_type', 'code_verifier', 'refresh_token=', 'access_token=']) {
    t.notOk(all.toLowerCase().includes(word.toLowerCase()), `no "${word}"`);
  }
});
