// Twitter failing in every way at each of the three calls, promptly and
// writing nothing: /login answers problem+json with a 4xx/502/504; the
// callback, whose flow names the app, sends the browser back to it with an
// OAuth error (RFC 6749 §4.1.2.1), its description and the app's state, and
// counts and logs the failure under its problem code.
import t, { type Test } from 'tap';
import { addedTo, failedSignIns, failureLine, scrape } from '../helpers/back-at-app.js';
import { Browser } from '../helpers/browser.js';
import { createTwitterClient } from '../../src/twitter/client.js';
import { startCuttableProxy } from '../helpers/cuttable-proxy.js';
import { answer, cutShort, hang, reset, stallAfterHeaders, startFakeTwitter, twitterError, WORKING, type Behaviour, type Endpoint } from '../helpers/fake-twitter.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const twitter = await startFakeTwitter();
t.teardown(() => twitter.close());
const roost = await startRoost(t, { providerUrl: twitter.url });

const RETURN_TO = `${APP_ORIGIN}/`;
const loginUrl = `${roost.url}/login?return_to=${encodeURIComponent(RETURN_TO)}`;
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

interface Finished {
  readonly status: number;
  readonly location: string | null;
  readonly body: string;
  /** The parameters added to the return_to, null if the browser was sent anywhere else. */
  readonly added: Record<string, string> | null;
  /** The state the app gave at /login. */
  readonly state: string;
  readonly ms: number;
  /** What the roost logged while answering the callback. */
  readonly logs: Record<string, unknown>[];
  /** roost_sign_ins_failed_total before the callback. */
  readonly failedBefore: (reason: string) => number;
  /** Sign-ins completed and tokens issued before the callback. */
  readonly grantedBefore: number;
  readonly browser: Browser;
  readonly callbackUrl: string;
}

/** Sign-ins completed plus access tokens issued at sign-in, from /metrics. */
async function granted(): Promise<number> {
  const value = await scrape(roost.url);
  return value('roost_sign_ins_completed_total') + value('roost_tokens_issued_total', { grant: 'sign_in' });
}

let flows = 0;
/** Starts a flow (with a state the app chose) with a working request_token, then calls back with the fake's token. */
async function callback(): Promise<Finished> {
  flows += 1;
  // Characters that must be encoded on the way back, so the echo is checked byte for byte.
  const state = `st ${flows}&=#?%`;
  const browser = new Browser();
  const login = await browser.get(`${loginUrl}&state=${encodeURIComponent(state)}`);
  if (login.status !== 302) throw new Error(`login failed: ${login.body}`);
  const failedBefore = await failedSignIns(roost.url);
  const grantedBefore = await granted();
  const logged = roost.logs.length;
  const started = performance.now();
  const callbackUrl = `${roost.url}/login/callback?oauth_token=req-token&oauth_verifier=verifier`;
  const hop = await browser.get(callbackUrl);
  const ms = performance.now() - started;
  return { status: hop.status, location: hop.location, body: hop.body, added: addedTo(hop.location, RETURN_TO), state, ms, logs: roost.logs.slice(logged), failedBefore, grantedBefore, browser, callbackUrl };
}

type OAuthError = 'temporarily_unavailable' | 'server_error' | 'access_denied';

/**
 * The callback sent the browser back to the app with exactly an OAuth error,
 * its description and the state, nothing else (no token, no code), counted
 * under the problem code and logged as before. Returns the description.
 */
async function wentBackWithError(t: Test, result: Finished, error: OAuthError, code: string): Promise<string> {
  t.equal(result.status, 302, 'redirected, not answered with a problem');
  t.same(Object.keys(result.added ?? {}), ['error', 'error_description', 'state'], `back at ${RETURN_TO} with only error, error_description and state: ${result.location}`);
  t.equal(result.added?.error, error);
  t.equal(result.added?.state, result.state, 'the state comes back');
  const description = result.added?.error_description ?? '';
  t.ok(description.length > 0, 'with a description');
  t.equal((await failedSignIns(roost.url))(code), result.failedBefore(code) + 1, `counted as a failed finish with reason ${code}`);
  t.equal(await granted(), result.grantedBefore, 'no sign-in completed, no token issued');
  const line = failureLine(result.logs, code);
  if (error === 'access_denied') {
    t.match(line, { level: 30, msg: 'request refused', code }, 'logged as a refusal');
  } else {
    t.match(line, { level: 50, msg: 'request failed', code, err: { message: `${code}: ${description}` } }, 'logged as a failure, with the error the description is the detail of');
  }
  return description;
}

async function login(): Promise<{ status: number; body: string; contentType: string | null; ms: number }> {
  const started = performance.now();
  const hop = await new Browser().get(loginUrl);
  return { status: hop.status, body: hop.body, contentType: hop.headers.get('content-type'), ms: performance.now() - started };
}

function use(t: { teardown(fn: () => void): void }, endpoint: Endpoint, behaviour: Behaviour) {
  twitter.behaviours[endpoint] = behaviour;
  t.teardown(() => {
    twitter.behaviours[endpoint] = WORKING[endpoint];
  });
}

const countUsers = async () => Number((await roost.deps.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

// What goes wrong; the problem /login answers (status and code); the OAuth error the callback sends the app.
const failures: Array<[string, Behaviour, number, string, OAuthError]> = [
  ['HTTP 500', answer(500, 'Internal Server Error'), 502, 'twitter_unavailable', 'temporarily_unavailable'],
  ['HTTP 503 with an empty body', answer(503, ''), 502, 'twitter_unavailable', 'temporarily_unavailable'],
  ['401 with a Twitter error', twitterError(401, 32, 'Could not authenticate you.'), 502, 'twitter_auth_failed', 'server_error'],
  ['an XML error', answer(401, '<?xml version="1.0"?><errors><error code="416">Invalid / suspended application</error></errors>', 'application/xml'), 502, 'twitter_app_suspended', 'server_error'],
  ['a garbage body', answer(200, '\u0000\u0001garbage{'), 502, 'twitter_bad_response', 'server_error'],
  ['an HTML page', answer(200, '<html><body>Over capacity</body></html>'), 502, 'twitter_bad_response', 'server_error'],
  ['an oversized body', answer(200, 'x'.repeat(200_000)), 502, 'twitter_bad_response', 'server_error'],
  ['a hanging response', hang, 504, 'twitter_timeout', 'temporarily_unavailable'],
  ['headers, then silence', stallAfterHeaders, 504, 'twitter_timeout', 'temporarily_unavailable'],
  ['a body cut short', cutShort, 502, 'twitter_unavailable', 'temporarily_unavailable'],
  ['a reset connection', reset, 502, 'twitter_unavailable', 'temporarily_unavailable'],
];

// Twitter's own error codes, as JSON and as the XML the OAuth endpoints sometimes send.
const xmlError = (status: number, code: number, message: string) =>
  answer(status, `<?xml version="1.0" encoding="UTF-8"?><errors><error code="${code}">${message}</error></errors>`, 'application/xml');
const twitterCodes: Array<[number, number, string, string, RegExp]> = [
  [32, 401, 'Could not authenticate you.', 'twitter_auth_failed', /TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET/],
  [89, 401, 'Invalid or expired token.', 'twitter_token_invalid', /invalid or expired/],
  [135, 401, 'Timestamp out of bounds.', 'twitter_clock_skew', /this server's clock is off/],
  [215, 400, 'Bad Authentication data.', 'twitter_bad_authentication_data', /TWITTER_API_URL/],
  [415, 403, 'Callback URL not approved for this client application.', 'twitter_callback_not_approved', /register .*\/login\/callback as a callback URL/],
  [416, 401, 'Invalid / suspended application', 'twitter_app_suspended', /invalid or suspended/],
];

t.test('request_token failures', async (t) => {
  for (const [name, behaviour, status, code] of failures) {
    await t.test(name, async (t) => {
      use(t, 'request_token', behaviour);
      const result = await login();
      t.equal(result.status, status);
      t.equal(result.contentType, 'application/problem+json; charset=utf-8');
      t.match(json(result.body), { code, status });
      t.ok(result.ms < 5000, `answered in ${Math.round(result.ms)} ms, not left hanging`);
    });
  }
  await t.test('oauth_callback_confirmed missing', async (t) => {
    use(t, 'request_token', answer(200, 'oauth_token=a&oauth_token_secret=b'));
    t.match(json((await login()).body), { code: 'twitter_bad_response', detail: /oauth_callback_confirmed/ });
  });
  await t.test('oauth_callback_confirmed false', async (t) => {
    use(t, 'request_token', answer(200, 'oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=false'));
    t.match(json((await login()).body), { code: 'twitter_bad_response', detail: /oauth_callback_confirmed is not true/ });
  });
  await t.test('a truncated token body', async (t) => {
    use(t, 'request_token', answer(200, 'oauth_token=a&oauth_tok'));
    t.match(json((await login()).body), { code: 'twitter_bad_response' });
  });
  await t.test('an unapproved callback names the URL to register', async (t) => {
    use(t, 'request_token', xmlError(403, 415, 'Callback URL not approved for this client application.'));
    const result = await login();
    t.equal(result.status, 502);
    t.match(json(result.body), { code: 'twitter_callback_not_approved', detail: `register ${roost.config.callbackUrl} as a callback URL` });
  });
  await t.test('bad consumer credentials point at the configuration', async (t) => {
    use(t, 'request_token', twitterError(401, 32, 'Could not authenticate you.'));
    t.match(json((await login()).body), { code: 'twitter_auth_failed', detail: /TWITTER_CONSUMER_KEY/ });
  });
  await t.test('an unreachable Twitter', async (t) => {
    const closed = await startFakeTwitter();
    await closed.close();
    const offline = await startRoost(t, { providerUrl: closed.url });
    const hop = await new Browser().get(`${offline.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
    t.equal(hop.status, 502);
    t.match(json(hop.body), { code: 'twitter_unavailable' });
  });
});

t.test('access_token failures', async (t) => {
  for (const [name, behaviour, , code, error] of failures) {
    await t.test(name, async (t) => {
      use(t, 'access_token', behaviour);
      const result = await callback();
      await wentBackWithError(t, result, error, code);
      t.ok(result.ms < 5000, `answered in ${Math.round(result.ms)} ms`);
    });
  }
  await t.test('a timeout says which call and how long', async (t) => {
    use(t, 'access_token', hang);
    t.equal(await wentBackWithError(t, await callback(), 'temporarily_unavailable', 'twitter_timeout'), 'Twitter did not answer oauth/access_token within 1000 ms');
  });
  await t.test('a verifier Twitter rejects is the user’s problem', async (t) => {
    use(t, 'access_token', answer(401, 'Error processing your OAuth request: Invalid oauth_verifier parameter'));
    const result = await callback();
    t.equal(await wentBackWithError(t, result, 'access_denied', 'twitter_rejected_verifier'), 'Twitter did not accept this sign-in; start again');
    const again = await result.browser.get(result.callbackUrl);
    t.equal(again.status, 400, 'the flow was used up: the same callback cannot be tried again');
    t.match(json(again.body), { code: 'flow_not_found' });
  });
  await t.test('an expired request token is the user’s problem', async (t) => {
    use(t, 'access_token', twitterError(401, 89, 'Invalid or expired token.'));
    const logged = roost.logs.length;
    await wentBackWithError(t, await callback(), 'access_denied', 'twitter_rejected_verifier');
    t.match(roost.logs.slice(logged).find((l) => l.msg === 'twitter call failed'), { code: 89 }, "Twitter's code is logged");
  });
  await t.test('a missing token secret', async (t) => {
    use(t, 'access_token', answer(200, 'oauth_token=only'));
    await wentBackWithError(t, await callback(), 'server_error', 'twitter_bad_response');
  });
  await t.test('a truncated token body', async (t) => {
    use(t, 'access_token', answer(200, 'oauth_token=acc-token&oauth_token_sec'));
    t.match(await wentBackWithError(t, await callback(), 'server_error', 'twitter_bad_response'), /oauth_token_secret/);
  });
  await t.test('the code mode: the error goes in the query, with the state', async (t) => {
    use(t, 'access_token', answer(503, ''));
    const browser = new Browser();
    const returnTo = `${APP_ORIGIN}/callback?tab=2`;
    const login = await browser.get(
      `${roost.url}/login?${new URLSearchParams({ return_to: returnTo, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'code state' })}`,
    );
    t.equal(login.status, 302);
    const before = await failedSignIns(roost.url);
    const hop = await browser.get(`${roost.url}/login/callback?oauth_token=req-token&oauth_verifier=verifier`);
    t.equal(hop.status, 302);
    t.equal(addedTo(hop.location, returnTo, 'fragment'), null, 'nothing in a fragment');
    t.same(addedTo(hop.location, returnTo, 'query'), {
      error: 'temporarily_unavailable',
      error_description: 'Twitter answered oauth/access_token with HTTP 503',
      state: 'code state',
    }, `added to the query of ${returnTo}: ${hop.location}`);
    t.equal((await failedSignIns(roost.url))('twitter_unavailable'), before('twitter_unavailable') + 1);
  });
  t.equal(await countUsers(), 0, 'no user was written');
});

t.test('verify_credentials failures', async (t) => {
  for (const [name, behaviour, , code, error] of failures) {
    await t.test(name, async (t) => {
      use(t, 'verify_credentials', behaviour);
      const result = await callback();
      await wentBackWithError(t, result, error, code);
      t.ok(result.ms < 5000, `answered in ${Math.round(result.ms)} ms`);
    });
  }
  await t.test('JSON without id_str', async (t) => {
    use(t, 'verify_credentials', answer(200, '{"id":42,"screen_name":"fake"}', 'application/json'));
    t.match(await wentBackWithError(t, await callback(), 'server_error', 'twitter_bad_response'), /no valid user id/);
  });
  await t.test('truncated JSON', async (t) => {
    use(t, 'verify_credentials', answer(200, '{"id_str":"42","screen_na', 'application/json'));
    t.match(await wentBackWithError(t, await callback(), 'server_error', 'twitter_bad_response'), /not JSON/);
  });
  t.equal(await countUsers(), 0, 'no user was written');
});

/** The Date header has whole seconds: a measured skew may be one more than the offset. */
const near = (value: unknown, expected: number) => typeof value === 'number' && value >= expected && value <= expected + 1;

t.test("Twitter's error codes map to stable problems at each call", async (t) => {
  for (const endpoint of ['request_token', 'access_token', 'verify_credentials'] as const) {
    for (const [twitterCode, status, message, code, detail] of twitterCodes) {
      for (const [format, behaviour] of [['JSON', twitterError(status, twitterCode, message)], ['XML', xmlError(status, twitterCode, message)]] as const) {
        await t.test(`${endpoint}: ${twitterCode} as ${format}`, async (t) => {
          use(t, endpoint, behaviour);
          const logged = roost.logs.length;
          if (endpoint === 'request_token') {
            const result = await login();
            const body = json(result.body);
            t.equal(result.status, 502);
            t.match(body, { code, status: 502, twitter_error: twitterCode, detail });
            t.match(body.detail, `(Twitter error ${twitterCode})`);
          } else if (endpoint === 'access_token' && twitterCode === 89) {
            // An expired request token at access_token is the user's to retry, not the operator's to fix.
            await wentBackWithError(t, await callback(), 'access_denied', 'twitter_rejected_verifier');
          } else {
            // The app hears of roost's failure; the description is the problem's detail, Twitter's code included.
            const description = await wentBackWithError(t, await callback(), 'server_error', code);
            t.match(description, detail);
            t.match(description, `(Twitter error ${twitterCode})`);
          }
          const line = roost.logs.slice(logged).find((l) => l.msg === 'twitter call failed');
          t.match(line, { level: 40, code: twitterCode, status, message: message.slice(0, 20) }, 'logged with the code and message');
        });
      }
    }
  }
});

t.test("Twitter's message is logged without the token of the request", async (t) => {
  use(t, 'verify_credentials', twitterError(401, 89, 'Invalid or expired token acc-token.'));
  const logged = roost.logs.length;
  const result = await callback();
  const line = roost.logs.slice(logged).find((l) => l.msg === 'twitter call failed');
  t.match(line, { code: 89, message: 'Invalid or expired token [token].' });
  t.notMatch(JSON.stringify(roost.logs.slice(logged)), /acc-token/);
  t.equal(result.added?.error, 'server_error');
  t.notMatch(result.location, /acc-token/, 'nor is it sent to the app');
});

t.test('a skewed clock: 135 says by how much, and a warning is logged', async (t) => {
  use(t, 'request_token', twitterError(401, 135, 'Timestamp out of bounds.'));
  twitter.clockOffsetMs = -300_000;
  t.teardown(() => {
    twitter.clockOffsetMs = 0;
  });
  const logged = roost.logs.length;
  const result = await login();
  // The Date header counts whole seconds, so the measured skew may be a second more.
  t.match(json(result.body), { code: 'twitter_clock_skew', detail: /about 30[01] s ahead of Twitter's/ });
  const warning = roost.logs.slice(logged).find((l) => typeof l.skewSeconds === 'number');
  t.match(warning, { level: 40, msg: /clock differs from X's by 30[01] s/ });
  t.ok(near(warning?.skewSeconds, 300), 'the warning carries the skew');
});

t.test('the clock check compares with Twitter\'s Date header', async (t) => {
  const events: Array<{ endpoint: string; skewSeconds: number }> = [];
  const client = (now: () => number) =>
    createTwitterClient({ apiUrl: twitter.url, consumerKey: 'k', consumerSecret: 's', timeoutMs: 1000, now, onClockSkew: (event) => events.push(event) });
  t.ok(near(await client(Date.now).checkClock(), 0), 'in step');
  t.same(events, []);
  t.ok(near(await client(() => Date.now() - 90_000).checkClock(), -90), 'behind');
  t.equal(events.length, 1, 'more than a minute off: warned');
  t.ok(near(events[0]?.skewSeconds, -90));
  t.ok(near(await client(() => Date.now() + 30_000).checkClock(), 30));
  t.equal(events.length, 1, 'within a minute: no warning');

  const drifting = client(() => Date.now() + 120_000);
  await drifting.requestToken('http://127.0.0.1/cb');
  await drifting.requestToken('http://127.0.0.1/cb');
  t.equal(events.length, 2, 'a drift seen on ordinary calls is reported once, not on every call');

  const closed = await startFakeTwitter();
  await closed.close();
  t.equal(await createTwitterClient({ apiUrl: closed.url, consumerKey: 'k', consumerSecret: 's', timeoutMs: 1000 }).checkClock(), undefined, 'no answer: no verdict');
});

t.test('a refused connection at each call', async (t) => {
  // Every answer closes its connection, so each call needs a new one, which the proxy can refuse.
  const upstream = await startFakeTwitter({ closeConnections: true });
  const proxy = await startCuttableProxy('127.0.0.1', Number(new URL(upstream.url).port));
  t.teardown(async () => {
    await proxy.close();
    await upstream.close();
  });
  const refusing = await startRoost(t, { providerUrl: `http://127.0.0.1:${proxy.port}` });
  const start = () => new Browser().get(`${refusing.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);
  const finish = async () => {
    const browser = new Browser();
    t.equal((await browser.get(`${refusing.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`)).status, 302);
    return browser.get(`${refusing.url}/login/callback?oauth_token=req-token&oauth_verifier=verifier`);
  };

  await proxy.cut();
  const atRequestToken = await start();
  t.equal(atRequestToken.status, 502, 'request_token');
  t.match(json(atRequestToken.body), { code: 'twitter_unavailable', detail: /could not be reached for oauth\/request_token/ });
  await proxy.restore();

  upstream.behaviours.request_token = (request, response) => {
    proxy.refuseNew();
    WORKING.request_token(request, response);
  };
  const atAccessToken = await finish();
  t.equal(atAccessToken.status, 302, 'access_token');
  t.same(addedTo(atAccessToken.location, RETURN_TO), { error: 'temporarily_unavailable', error_description: 'Twitter could not be reached for oauth/access_token' });
  t.match(failureLine(refusing.logs, 'twitter_unavailable'), { level: 50, msg: 'request failed' });
  await proxy.restore();
  upstream.behaviours.request_token = WORKING.request_token;

  upstream.behaviours.access_token = (request, response) => {
    proxy.refuseNew();
    WORKING.access_token(request, response);
  };
  const atVerify = await finish();
  t.equal(atVerify.status, 302, 'verify_credentials');
  t.same(addedTo(atVerify.location, RETURN_TO), { error: 'temporarily_unavailable', error_description: 'Twitter could not be reached for 1.1/account/verify_credentials.json' });
  await proxy.restore();
  upstream.behaviours.access_token = WORKING.access_token;

  const after = await finish();
  t.equal(after.status, 302, 'and signs in once the connections are accepted again');
  t.ok(addedTo(after.location, RETURN_TO)?.access_token, 'with tokens this time');
  t.equal((await failedSignIns(refusing.url))('twitter_unavailable'), 2, 'both failed finishes were counted');
});

t.test('with Twitter working again, the same roost signs in', async (t) => {
  const result = await callback();
  t.equal(result.status, 302);
  t.match(result.added, { access_token: String, refresh_token: String, state: result.state });
  t.notOk(result.added?.error, 'no error');
  t.equal(await countUsers(), 1);
});

t.test('5xx bodies and error descriptions carry nothing from the original error', async (t) => {
  for (const endpoint of ['request_token', 'access_token', 'verify_credentials'] as const) {
    await t.test(endpoint, async (t) => {
      use(t, endpoint, answer(500, 'SECRET-INTERNAL-DETAIL'));
      if (endpoint === 'request_token') {
        t.notMatch((await login()).body, /SECRET-INTERNAL-DETAIL|at .*\.ts/);
        return;
      }
      const finished = await callback();
      t.equal(finished.added?.error, 'temporarily_unavailable');
      t.notMatch(finished.added?.error_description, /SECRET-INTERNAL-DETAIL|at .*\.ts/, 'the description sent to the app');
      t.notMatch(finished.location, /SECRET-INTERNAL-DETAIL/);
    });
  }
});
