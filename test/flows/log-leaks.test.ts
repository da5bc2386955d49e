// Nothing secret reaches the logs, even at LOG_LEVEL=trace, under either
// protocol roost speaks with X: full sign-ins, a cancelled one, X failing
// (errors, rate limits, hangs, garbage, and echoing what it was sent), an
// account deleted while X echoes the token it is asked to revoke, Redis and
// Postgres failing, bad tokens and broken requests. Every line is captured
// and searched for every secret. A failed callback's way back to the app
// (its error_description) carries none of them either.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import t, { type Test } from 'tap';
import { decryptSecret } from '../../src/keys/crypto-box.js';
import type { UpstreamProtocol } from '../../src/twitter/upstream.js';
import { addedTo, failureLine } from '../helpers/back-at-app.js';
import { Browser, fragmentOf, type Hop } from '../helpers/browser.js';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import {
  answer,
  apiProblem,
  echo,
  garbage,
  hang,
  oauth2Error,
  rateLimited,
  reset,
  startFakeTwitter,
  twitterError,
  WORKING,
  type Behaviour,
  type Endpoint,
} from '../helpers/fake-twitter.js';
import { APP_ORIGIN, PROTOCOLS, startRoost } from '../helpers/roost.js';

const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const RETURN_TO = `${APP_ORIGIN}/`;

/** Where roost revokes a deleted account's token at X, per protocol. */
const REVOKE: Record<UpstreamProtocol, Endpoint> = { oauth1: 'invalidate_token', oauth2: 'oauth2_revoke' };

/** A way X fails at one call; the OAuth error the app then gets, and the problem code roost logs and counts. */
interface Failure {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly behaviour: Behaviour;
  readonly error: 'temporarily_unavailable' | 'access_denied' | 'server_error';
  readonly code: string;
  /** What the detail says, in the redirect's error_description and in the logged error. */
  readonly detail?: RegExp;
}

const FAILURES: Record<UpstreamProtocol, Failure[]> = {
  oauth1: [
    { name: 'Twitter answers 500 at access_token', endpoint: 'access_token', behaviour: answer(500, 'oops'), error: 'temporarily_unavailable', code: 'twitter_unavailable' },
    {
      name: 'Twitter refuses the verifier',
      endpoint: 'access_token',
      behaviour: answer(401, 'Error processing your OAuth request: Invalid oauth_verifier parameter'),
      error: 'access_denied',
      code: 'twitter_rejected_verifier',
    },
    {
      name: 'Twitter error 32 at verify_credentials',
      endpoint: 'verify_credentials',
      behaviour: twitterError(401, 32, 'Could not authenticate you.'),
      error: 'server_error',
      code: 'twitter_auth_failed',
      detail: /TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET/,
    },
    { name: 'Twitter resets the connection at verify_credentials', endpoint: 'verify_credentials', behaviour: reset, error: 'temporarily_unavailable', code: 'twitter_unavailable' },
    { name: 'Twitter hangs at access_token', endpoint: 'access_token', behaviour: hang, error: 'temporarily_unavailable', code: 'twitter_timeout', detail: /^Twitter did not answer oauth\/access_token within 1000 ms$/ },
  ],
  oauth2: [
    { name: 'X answers 500 at the token endpoint', endpoint: 'oauth2_token', behaviour: answer(500, 'oops'), error: 'temporarily_unavailable', code: 'twitter_unavailable' },
    {
      name: 'X refuses the code (invalid_grant)',
      endpoint: 'oauth2_token',
      behaviour: oauth2Error(400, 'invalid_grant', 'Value passed for the authorization code was invalid.'),
      error: 'access_denied',
      code: 'twitter_rejected_verifier',
      detail: /start again/,
    },
    {
      name: 'X refuses the client (invalid_client)',
      endpoint: 'oauth2_token',
      behaviour: oauth2Error(401, 'invalid_client', 'Missing valid authorization header'),
      error: 'server_error',
      code: 'twitter_auth_failed',
      detail: /check TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/,
    },
    {
      name: 'X rate-limits the token endpoint (429)',
      endpoint: 'oauth2_token',
      behaviour: rateLimited(120),
      error: 'temporarily_unavailable',
      code: 'rate_limited',
      detail: /^X's rate limit for 2\/oauth2\/token is used up until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 1[12]\d s\)/,
    },
    { name: 'X answers garbage at the token endpoint', endpoint: 'oauth2_token', behaviour: garbage, error: 'server_error', code: 'twitter_bad_response' },
    { name: 'X hangs at the token endpoint', endpoint: 'oauth2_token', behaviour: hang, error: 'temporarily_unavailable', code: 'twitter_timeout', detail: /^X did not answer 2\/oauth2\/token within 1000 ms$/ },
    { name: 'X refuses its own token at users/me (401)', endpoint: 'users_me', behaviour: apiProblem(401, 'Unauthorized'), error: 'server_error', code: 'twitter_token_invalid' },
    { name: 'X rate-limits users/me (429)', endpoint: 'users_me', behaviour: rateLimited(60), error: 'temporarily_unavailable', code: 'rate_limited', detail: /2\/users\/me is used up until/ },
    { name: 'X answers 503 at users/me', endpoint: 'users_me', behaviour: apiProblem(503, 'Service Unavailable'), error: 'temporarily_unavailable', code: 'twitter_unavailable' },
    { name: 'X answers garbage at users/me', endpoint: 'users_me', behaviour: garbage, error: 'server_error', code: 'twitter_bad_response' },
    { name: 'X resets the connection at users/me', endpoint: 'users_me', behaviour: reset, error: 'temporarily_unavailable', code: 'twitter_unavailable' },
  ],
};

/** X repeating in its error what it was sent (every token, code, verifier, secret and Authorization header), at each call of a sign-in. */
const ECHOES: Record<UpstreamProtocol, Array<Omit<Failure, 'code' | 'detail'>>> = {
  oauth1: [
    { name: 'Twitter echoes what it was sent, in its error at access_token', endpoint: 'access_token', behaviour: echo(401, (said) => ({ errors: [{ code: 32, message: `Could not authenticate ${said}` }] })), error: 'server_error' },
    { name: 'Twitter echoes what it was sent, in its error at verify_credentials', endpoint: 'verify_credentials', behaviour: echo(401, (said) => ({ errors: [{ code: 89, message: `Invalid or expired token ${said}` }] })), error: 'server_error' },
  ],
  oauth2: [
    { name: 'X echoes what it was sent, in the description of its error at the token endpoint', endpoint: 'oauth2_token', behaviour: echo(400, (said) => ({ error: 'invalid_request', error_description: said })), error: 'server_error' },
    { name: 'X echoes what it was sent, in the error code itself at the token endpoint', endpoint: 'oauth2_token', behaviour: echo(401, (said) => ({ error: said })), error: 'server_error' },
    {
      name: 'X echoes what it was sent, in its error at users/me',
      endpoint: 'users_me',
      behaviour: echo(401, (said) => ({ errors: [{ title: 'Unauthorized', detail: said, type: 'https://api.x.com/2/problems/not-authorized-for-resource' }] })),
      error: 'server_error',
    },
  ],
};

for (const protocol of PROTOCOLS) t.test(protocol, (t) => leakScenarios(t, protocol));

async function leakScenarios(t: Test, protocol: UpstreamProtocol) {
  const revoke = REVOKE[protocol];
  // The app's secret at X, with characters that each encoding (Basic, form, percent) writes differently.
  const appSecret = protocol === 'oauth1' ? secret('consumer-secret') : `${secret('client-secret')}:+/ =`;
  const encryptionKey = randomBytes(32);
  const cookieSecret = randomBytes(32).toString('hex');

  // Everything X hands out or roost sends it is fresh for each flow and remembered here.
  const secrets = new Map<string, string>([
    [protocol === 'oauth1' ? 'consumer secret' : 'client secret', appSecret],
    ['encryption key (hex)', encryptionKey.toString('hex')],
    ['encryption key (base64)', encryptionKey.toString('base64')],
    ['cookie secret', cookieSecret],
  ]);
  if (protocol === 'oauth2') {
    secrets.set('client secret, percent-encoded', encodeURIComponent(appSecret));
    secrets.set('client secret, form-encoded', new URLSearchParams([['', appSecret]]).toString().slice(1));
  }
  const remember = (label: string, value: string | null | undefined) => {
    // An empty value is in every text: only a real one is searched for.
    if (value) secrets.set(label, value);
  };
  let flows = 0;
  let sent = 0;
  const twitter = await startFakeTwitter();
  t.teardown(() => twitter.close());

  /** Records what roost sent X (the Authorization header and its parts, and every secret in the body) before X answers. */
  const recording = (endpoint: Endpoint, behaviour: Behaviour): Behaviour => (request, response, body = '') => {
    sent += 1;
    const header = request.headers.authorization;
    remember(`Authorization header sent to ${endpoint} #${sent}`, header);
    remember(`credentials of the Authorization header sent to ${endpoint} #${sent}`, header?.replace(/^\S+ /, ''));
    remember(`oauth_signature sent to ${endpoint} #${sent}`, /oauth_signature="([^"]+)"/.exec(header ?? '')?.[1]);
    for (const [name, value] of new URLSearchParams(body)) {
      if (['code', 'code_verifier', 'token', 'oauth_verifier', 'client_secret'].includes(name)) remember(`${name} sent to ${endpoint} #${sent}`, value);
    }
    behaviour(request, response, body);
  };

  /** X's answers for the next flow: fresh tokens each time, remembered as secrets. The 1.0a request token is also the flow's handle. */
  function issueFreshTokens(): { requestToken?: string } {
    flows += 1;
    const accessToken = secret('access-token');
    remember(`X's access token ${flows}`, accessToken);
    if (protocol === 'oauth2') {
      const answerToken = answer(200, JSON.stringify({ token_type: 'bearer', expires_in: 7200, access_token: accessToken, scope: 'tweet.read users.read' }), 'application/json');
      twitter.behaviours.oauth2_token = recording('oauth2_token', answerToken);
      twitter.behaviours.users_me = recording('users_me', WORKING.users_me);
      twitter.behaviours.oauth2_revoke = recording('oauth2_revoke', WORKING.oauth2_revoke);
      return {};
    }
    const tokens = { requestToken: secret('request-token'), requestSecret: secret('request-secret'), accessSecret: secret('access-secret') };
    remember(`request token ${flows}`, tokens.requestToken);
    remember(`request token secret ${flows}`, tokens.requestSecret);
    remember(`X's access token secret ${flows}`, tokens.accessSecret);
    twitter.behaviours.request_token = recording('request_token', answer(200, `oauth_token=${tokens.requestToken}&oauth_token_secret=${tokens.requestSecret}&oauth_callback_confirmed=true`));
    twitter.behaviours.access_token = recording('access_token', answer(200, `oauth_token=${accessToken}&oauth_token_secret=${tokens.accessSecret}&user_id=42&screen_name=fake`));
    twitter.behaviours.verify_credentials = recording('verify_credentials', WORKING.verify_credentials);
    twitter.behaviours.invalidate_token = recording('invalidate_token', WORKING.invalidate_token);
    return tokens;
  }

  const { postgres, redis, databaseUrl, redisUrl } = await startDependencyProxies(t);
  const roost = await startRoost(t, {
    protocol,
    providerUrl: twitter.url,
    env: {
      LOG_LEVEL: 'trace',
      [protocol === 'oauth1' ? 'TWITTER_CONSUMER_SECRET' : 'TWITTER_CLIENT_SECRET']: appSecret,
      ENCRYPTION_KEY: encryptionKey.toString('hex'),
      COOKIE_SECRET: cookieSecret,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
    },
  });

  /** What X's callback carries: the flow's handle (the request token, or the state roost sent X) and its grant (a verifier, or a code). */
  interface FromX {
    readonly handle: string;
    readonly grant: string;
  }
  const approved = ({ handle, grant }: FromX) => (protocol === 'oauth1' ? `oauth_token=${handle}&oauth_verifier=${grant}` : `code=${grant}&state=${handle}`);
  const denied = ({ handle }: FromX) => (protocol === 'oauth1' ? `denied=${handle}` : `error=access_denied&state=${handle}`);

  /** /login with fresh answers from X; records the handle, the grant X will send and the flow cookie as secrets. */
  async function begin(browser: Browser, loginQuery: Record<string, string> = {}): Promise<{ login: Hop; fromX: FromX }> {
    const { requestToken } = issueFreshTokens();
    const grant = secret(protocol === 'oauth1' ? 'verifier' : 'code');
    remember(`${protocol === 'oauth1' ? 'verifier' : 'authorization code'} ${flows}`, grant);
    const login = await browser.get(`${roost.url}/login?${new URLSearchParams({ return_to: RETURN_TO, ...loginQuery })}`);
    for (const value of browser.cookies.values()) {
      remember(`flow cookie ${flows}`, value);
      remember(`flow cookie binding ${flows}`, decodeURIComponent(value).split('.')[0]);
    }
    const handle = requestToken ?? (login.location ? new URL(login.location).searchParams.get('state') : null) ?? '';
    if (protocol === 'oauth2') remember(`the state roost sent X ${flows}`, handle);
    return { login, fromX: { handle, grant } };
  }

  /** /login and the callback X would send; records the resulting token as a secret. */
  async function flow(callbackQuery: (fromX: FromX) => string, loginQuery: Record<string, string> = {}) {
    const browser = new Browser();
    const { login, fromX } = await begin(browser, loginQuery);
    const started = performance.now();
    const callback = await browser.get(`${roost.url}/login/callback?${callbackQuery(fromX)}`);
    const ms = performance.now() - started;
    const token = fragmentOf(callback.location ?? '#').get('access_token');
    if (token) rememberAccessToken(`roost's access token ${flows}`, token);
    return { login, callback, token, ms };
  }

  /** The secret last remembered under a label that starts with `prefix`. */
  const latest = (prefix: string) => [...secrets].filter(([label]) => label.startsWith(prefix)).at(-1)?.[1];

  /** The secrets known so far that a redirect's Location carries, raw or decoded. */
  function secretsIn(location: string | null): string[] {
    const texts = [location ?? '', ...Object.values(addedTo(location, RETURN_TO) ?? {})];
    return [...secrets].filter(([, value]) => texts.some((text) => text.includes(value))).map(([label]) => label);
  }

  /** Records an access token, and its parts, as secrets. */
  function rememberAccessToken(label: string, token: string) {
    remember(`${label} JWT`, token);
    const [, payload, signature] = token.split('.');
    remember(`${label} JWT payload`, payload);
    remember(`${label} JWT signature`, signature);
  }

  /** POSTs a body to roost, remembering the body itself as a secret. */
  async function postSecret(label: string, path: string, body: string, contentType: string, headers: Record<string, string> = {}) {
    remember(`${label} (the whole body)`, body);
    const response = await fetch(`${roost.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body, redirect: 'manual' });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : {}) as Record<string, string> };
  }

  /** X's access token as roost sealed it for the user of `accessToken`, opened (and its secret under 1.0a). */
  async function storedXCredentials(accessToken: string) {
    const sub = JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString()) as { sub: string };
    const row = await roost.deps.db.selectFrom('users').selectAll().where('id', '=', sub.sub).executeTakeFirstOrThrow();
    const keys = roost.deps.encryptionKeys;
    return {
      token: decryptSecret(keys, row.twitter_token_sealed, `twitter_token:${row.twitter_id}`),
      secret: row.twitter_token_secret_sealed === null ? null : decryptSecret(keys, row.twitter_token_secret_sealed, `twitter_token_secret:${row.twitter_id}`),
    };
  }

  t.test('a successful sign-in, and /me with its token', async (t) => {
    const { callback, token } = await flow(approved);
    t.equal(callback.status, 302);
    t.ok(token);
    t.equal((await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    t.equal((await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}x` } })).status, 401);
    const stored = await storedXCredentials(token as string);
    t.equal(stored.token, secrets.get(`X's access token ${flows}`), "X's access token is what roost stored");
    t.equal(stored.secret, protocol === 'oauth1' ? secrets.get(`X's access token secret ${flows}`) : null, protocol === 'oauth1' ? 'with its secret' : 'OAuth 2.0 has no token secret');
    if (protocol === 'oauth2') {
      t.match(latest('code_verifier sent to oauth2_token'), /^[A-Za-z0-9_-]{43}$/, 'the code_verifier X was sent is among the secrets searched for');
      t.equal(latest('code sent to oauth2_token'), secrets.get(`authorization code ${flows}`), 'roost exchanged the code X sent back');
    }
    const row = await roost.deps.db.selectFrom('signing_keys').select(['kid', 'private_jwk_sealed']).where('state', '=', 'current').executeTakeFirstOrThrow();
    const privateJwk = JSON.parse(decryptSecret(roost.deps.encryptionKeys, row.private_jwk_sealed as string, `signing_key:${row.kid}`)) as { d: string };
    remember('signing key private part', privateJwk.d);
  });

  t.test('a code-mode sign-in (PKCE), its redemption, refreshes and logouts', async (t) => {
    const codeSignIn = async () => {
      const verifier = randomBytes(48).toString('base64url');
      const { callback } = await flow(approved, { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state: 'st' });
      const code = new URL(callback.location ?? 'http://missing/').searchParams.get('code') as string;
      t.ok(code, 'the callback sends a code');
      remember(`app's code_verifier ${flows}`, verifier);
      remember(`roost's authorization code ${flows}`, code);
      return { code, verifier };
    };
    const redemption = (code: string, verifier: string) => new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: RETURN_TO }).toString();
    const form = 'application/x-www-form-urlencoded';

    const first = await codeSignIn();
    // Refused before the code is looked at; the body carries the code all the same.
    const refused = await postSecret('refused /token body', '/token', redemption(first.code, secret('short')), form);
    t.equal(refused.status, 400);
    t.equal(refused.json.error, 'invalid_request');
    const redeemed = await postSecret('/token body (code)', '/token', redemption(first.code, first.verifier), form);
    t.equal(redeemed.status, 200);
    rememberAccessToken('access token from the code', redeemed.json.access_token as string);
    remember('refresh token from the code', redeemed.json.refresh_token);

    const refreshed = await postSecret('/token body (refresh)', '/token', new URLSearchParams({ grant_type: 'refresh_token', refresh_token: redeemed.json.refresh_token as string }).toString(), form);
    t.equal(refreshed.status, 200);
    rememberAccessToken('access token from the refresh', refreshed.json.access_token as string);
    remember('refresh token from the refresh', refreshed.json.refresh_token);
    const again = await postSecret('/token body (JSON refresh)', '/token', JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshed.json.refresh_token }), 'application/json');
    t.equal(again.status, 200);
    rememberAccessToken('access token from the JSON refresh', again.json.access_token as string);
    remember('refresh token from the JSON refresh', again.json.refresh_token);
    // The first refresh token, long spent: reuse ends the session (logged as a warning, by session id).
    const reused = await postSecret('/token body (reuse)', '/token', new URLSearchParams({ grant_type: 'refresh_token', refresh_token: redeemed.json.refresh_token as string }).toString(), form);
    t.equal(reused.status, 400);

    const second = await codeSignIn();
    const tokens = await postSecret('/token body (second code, JSON)', '/token', JSON.stringify(Object.fromEntries(new URLSearchParams(redemption(second.code, second.verifier)))), 'application/json');
    t.equal(tokens.status, 200);
    rememberAccessToken('access token of the second code', tokens.json.access_token as string);
    remember('refresh token of the second code', tokens.json.refresh_token);
    const bearer = { authorization: `Bearer ${tokens.json.access_token}` };
    t.equal((await fetch(`${roost.url}/me`, { headers: bearer })).status, 200);
    const out = await postSecret('/logout body (form)', '/logout', new URLSearchParams({ refresh_token: tokens.json.refresh_token as string, return_to: `${APP_ORIGIN}/bye?x=1` }).toString(), form, bearer);
    t.equal(out.status, 303);
    const outAgain = await postSecret('/logout body (JSON)', '/logout', JSON.stringify({ refresh_token: tokens.json.refresh_token, return_to: 'not a uri' }), 'application/json', bearer);
    t.equal(outAgain.status, 400, 'a refused logout');
    t.equal((await fetch(`${roost.url}/me`, { headers: bearer })).status, 401, 'signed out');
  });

  t.test('a cancelled sign-in', async (t) => {
    const { callback } = await flow(denied, { state: 'cancelled' });
    t.equal(callback.location, `${RETURN_TO}#error=access_denied&error_description=The+user+did+not+authorize+the+app+at+X&state=cancelled`);
  });

  t.test('a replayed callback and a callback from another browser', async (t) => {
    const { fromX } = await begin(new Browser());
    const stranger = new Browser();
    stranger.cookies.set('roost_flow', secret('forged-cookie'));
    remember('forged cookie', stranger.cookies.get('roost_flow'));
    const mismatch = await stranger.get(`${roost.url}/login/callback?${approved(fromX)}`);
    t.equal(mismatch.status, 302);
    t.equal(addedTo(mismatch.location, RETURN_TO)?.error, 'access_denied', 'the app hears the sign-in was refused');
    t.same(secretsIn(mismatch.location), [], 'no secret in the way back to the app');
    t.equal((await stranger.get(`${roost.url}/login/callback?${approved(fromX)}`)).status, 400);
  });

  for (const failure of FAILURES[protocol]) {
    t.test(failure.name, async (t) => {
      const logged = roost.logs.length;
      const { callback, token, ms } = await flow(
        (fromX) => {
          // Set once /login is done: under 1.0a it called X too.
          twitter.behaviours[failure.endpoint] = recording(failure.endpoint, failure.behaviour);
          return approved(fromX);
        },
        { state: 'failing' },
      );
      t.equal(callback.status, 302);
      const added = addedTo(callback.location, RETURN_TO);
      t.same(Object.keys(added ?? {}), ['error', 'error_description', 'state'], `back at the app with an error only: ${callback.location}`);
      t.match(added, { error: failure.error, state: 'failing' }, `back at the app with ${failure.error}`);
      t.notOk(token, 'no token');
      t.same(secretsIn(callback.location), [], 'no secret in the way back to the app');
      const line = failureLine(roost.logs.slice(logged), failure.code);
      t.ok(line, `logged under ${failure.code}`);
      if (failure.detail) t.match(added?.error_description, failure.detail, 'the description says what happened');
      // A 5xx is logged with its error, whose detail the description is; a refusal (4xx) by its code alone.
      if (line?.level === 50) t.match((line.err as { message?: string }).message, `${failure.code}: ${added?.error_description}`, 'the logged error says the same');
      if (failure.behaviour === hang) {
        const timeoutMs = roost.config.twitter.timeoutMs;
        t.ok(ms >= timeoutMs && ms < timeoutMs + 2000, `answered after TWITTER_TIMEOUT_MS (${timeoutMs} ms), not left hanging: ${Math.round(ms)} ms`);
      }
    });
  }

  // Over 2.0 X may send the browser back with an error instead of a code (RFC 6749 §4.1.2.1), its own words beside it.
  if (protocol === 'oauth2') {
    t.test('X sends the browser back with an error of its own', async (t) => {
      const cases = [
        ['server_error', 'temporarily_unavailable', 'twitter_unavailable', /^X answered the sign-in with server_error; try again shortly$/],
        ['temporarily_unavailable', 'temporarily_unavailable', 'twitter_unavailable', /^X answered the sign-in with temporarily_unavailable/],
        ['invalid_scope', 'server_error', 'twitter_auth_failed', new RegExp(`^X refused the sign-in request with invalid_scope: .*the callback URL ${roost.config.callbackUrl}`)],
        ['unauthorized_client', 'server_error', 'twitter_auth_failed', /^X refused the sign-in request with unauthorized_client: check the app's OAuth 2\.0 settings/],
      ] as const;
      for (const [fromX, error, code, description] of cases) {
        const logged = roost.logs.length;
        const exchanges = twitter.calls.oauth2_token;
        const { callback } = await flow(({ handle }) => new URLSearchParams({ error: fromX, error_description: `X's words on ${handle}`, state: handle }).toString(), { state: fromX });
        t.equal(callback.status, 302, fromX);
        t.match(addedTo(callback.location, RETURN_TO), { error, error_description: description, state: fromX }, `${fromX} reaches the app as ${error}`);
        t.match(failureLine(roost.logs.slice(logged), code), { level: 50, msg: 'request failed' }, `logged under ${code}`);
        t.equal(twitter.calls.oauth2_token, exchanges, 'no code to exchange: X is not called');
        t.same(secretsIn(callback.location), [], 'no secret in the way back to the app');
      }
    });
  }

  for (const echoing of ECHOES[protocol]) {
    t.test(echoing.name, async (t) => {
      const logged = roost.logs.length;
      const { callback } = await flow((fromX) => {
        twitter.behaviours[echoing.endpoint] = recording(echoing.endpoint, echoing.behaviour);
        return approved(fromX);
      });
      t.equal(callback.status, 302);
      t.match(addedTo(callback.location, RETURN_TO), { error: echoing.error, error_description: String });
      t.same(secretsIn(callback.location), [], 'none of what X echoed is sent on to the app');
      t.notMatch(decodeURIComponent(callback.location ?? ''), /oauth_signature|OAuth oauth_|Basic |Bearer /, 'nor any part of an Authorization header');
      const said = roost.logs.slice(logged).find((line) => line.msg === 'twitter call failed');
      t.match(said, { endpoint: String, status: Number }, "X's answer is logged");
    });
  }

  t.test('an account deleted while X echoes the token it is asked to revoke', async (t) => {
    const { token } = await flow(approved);
    const logged = roost.logs.length;
    const before = twitter.calls[revoke];
    twitter.behaviours[revoke] = recording(
      revoke,
      protocol === 'oauth1'
        ? echo(401, (said) => ({ errors: [{ code: 89, message: `Invalid or expired token ${said}` }] }))
        : echo(400, (said) => ({ error: 'invalid_request', error_description: `Token invalid: ${said}` })),
    );
    const deleted = await fetch(`${roost.url}/me`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    t.equal(deleted.status, 204, 'the account is deleted all the same');
    t.equal(twitter.calls[revoke], before + 1, 'the revocation was asked of X');
    const lines = roost.logs.slice(logged);
    t.ok(lines.some((line) => line.msg === 'account deleted, but Twitter did not revoke its access token'));
    t.ok(lines.some((line) => line.msg === 'twitter call failed'), "X's answer is logged");
  });

  t.test('Redis away while a flow is stored', async (t) => {
    await redis.cut();
    issueFreshTokens();
    const start = () => new Browser().get(`${roost.url}/login?return_to=${encodeURIComponent(RETURN_TO)}`);
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
    t.match(addedTo(callback.location, RETURN_TO), { error: 'temporarily_unavailable', error_description: 'The database did not answer; try again shortly' });
    t.same(secretsIn(callback.location), [], 'no secret in the way back to the app');
  });

  t.test('a request the HTTP parser refuses, cookie and all', async (t) => {
    const cookie = secret('raw-cookie');
    remember('cookie in a malformed request', cookie);
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(roost.config.port, '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => (data += String(chunk)));
      socket.on('close', () => resolve(data));
      socket.end(`GET /me HTTP/1.1\r\nHost: x\r\nCookie: roost_flow=${cookie}\r\nAuthorization: Bearer ${cookie}\r\nbroken\r\n\r\n`);
    });
    t.match(raw, /^HTTP\/1.1 400 /);
  });

  t.test('no secret in any log line', async (t) => {
    const all = roost.rawLogs.join('\n');
    t.equal(roost.config.logLevel, 'trace');
    t.ok(roost.logs.filter((line) => line.msg === 'request' && line.path === '/login/callback').length >= 10, 'every callback was logged');
    t.ok(roost.logs.some((line) => line.msg === 'twitter call failed' && typeof line.message === 'string'), "X's messages were logged");
    t.ok(roost.logs.some((line) => line.level === 50 && typeof line.err === 'object'), 'failures were logged as errors, with the error');
    t.ok(secrets.size > 60, `${secrets.size} secrets checked`);
    for (const kind of protocol === 'oauth1' ? ['request token', 'verifier', 'oauth_signature sent'] : ['authorization code', 'code_verifier sent', 'the state roost sent X', 'credentials of the Authorization header sent to oauth2_token']) {
      t.ok([...secrets.keys()].some((label) => label.startsWith(kind)), `among them: ${kind}`);
    }
    for (const [label, value] of secrets) {
      t.notOk(all.includes(value), `no ${label}`);
    }
    // X's error words may name what it was sent (Basic [token], code=[redacted]): roost blanks every value, and logs no body of its own.
    const leaks: Array<[string, RegExp]> = [
      ['an OAuth 1.0a signature', /oauth_signature="/i],
      ['a verifier', /oauth_verifier=v/i],
      ['a bearer token', /Bearer (?!\[token\])/i],
      ['Basic credentials', /Basic (?!\[token\])/i],
      ['a raw packet', /rawPacket/i],
      ['a cookie header', /set-cookie/i],
      ['a refresh token parameter', /refresh_token=/i],
      ['an access token parameter', /access_token=/i],
      ['a parameter X was sent, with its value', /\b(oauth_token|code|code_verifier|client_secret|token)=(?!\[redacted\]|\[token\])/i],
      ['a request body, parsed', /"(grant_type|code_verifier|refresh_token|client_secret)"\s*:\s*"(?!\[)/i],
    ];
    for (const [what, pattern] of leaks) {
      t.notMatch(all, pattern, `no ${what}`);
    }
  });
}
