// Twitter failing in every way at each of the three calls: roost answers
// problem+json with a 4xx/502/504 promptly, and writes nothing.
import t from 'tap';
import { Browser } from '../helpers/browser.js';
import { createTwitterClient } from '../../src/twitter/client.js';
import { startCuttableProxy } from '../helpers/cuttable-proxy.js';
import { answer, cutShort, hang, reset, stallAfterHeaders, startFakeTwitter, twitterError, WORKING, type Behaviour, type Endpoint } from '../helpers/fake-twitter.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const twitter = await startFakeTwitter();
t.teardown(() => twitter.close());
const roost = await startRoost(t, { providerUrl: twitter.url });

const loginUrl = `${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

/** Starts a flow with a working request_token, then calls back with the fake's token. */
async function callback(): Promise<{ status: number; body: string; contentType: string | null; ms: number }> {
  const browser = new Browser();
  const login = await browser.get(loginUrl);
  if (login.status !== 302) throw new Error(`login failed: ${login.body}`);
  const started = performance.now();
  const hop = await browser.get(`${roost.url}/login/callback?oauth_token=req-token&oauth_verifier=verifier`);
  return { status: hop.status, body: hop.body, contentType: hop.headers.get('content-type'), ms: performance.now() - started };
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

const failures: Array<[string, Behaviour, number, string]> = [
  ['HTTP 500', answer(500, 'Internal Server Error'), 502, 'twitter_unavailable'],
  ['HTTP 503 with an empty body', answer(503, ''), 502, 'twitter_unavailable'],
  ['401 with a Twitter error', twitterError(401, 32, 'Could not authenticate you.'), 502, 'twitter_auth_failed'],
  ['an XML error', answer(401, '<?xml version="1.0"?><errors><error code="416">Invalid / suspended application</error></errors>', 'application/xml'), 502, 'twitter_app_suspended'],
  ['a garbage body', answer(200, '\u0000\u0001garbage{'), 502, 'twitter_bad_response'],
  ['an HTML page', answer(200, '<html><body>Over capacity</body></html>'), 502, 'twitter_bad_response'],
  ['an oversized body', answer(200, 'x'.repeat(200_000)), 502, 'twitter_bad_response'],
  ['a hanging response', hang, 504, 'twitter_timeout'],
  ['headers, then silence', stallAfterHeaders, 504, 'twitter_timeout'],
  ['a body cut short', cutShort, 502, 'twitter_unavailable'],
  ['a reset connection', reset, 502, 'twitter_unavailable'],
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
  for (const [name, behaviour, status, code] of failures) {
    await t.test(name, async (t) => {
      use(t, 'access_token', behaviour);
      const result = await callback();
      t.equal(result.status, status);
      t.match(json(result.body), { code, status });
      t.ok(result.ms < 5000, `answered in ${Math.round(result.ms)} ms`);
    });
  }
  await t.test('a verifier Twitter rejects is the user’s problem', async (t) => {
    use(t, 'access_token', answer(401, 'Error processing your OAuth request: Invalid oauth_verifier parameter'));
    const result = await callback();
    t.equal(result.status, 400);
    t.match(json(result.body), { code: 'twitter_rejected_verifier' });
  });
  await t.test('an expired request token is the user’s problem', async (t) => {
    use(t, 'access_token', twitterError(401, 89, 'Invalid or expired token.'));
    t.match(json((await callback()).body), { code: 'twitter_rejected_verifier', status: 400, twitter_error: 89 });
  });
  await t.test('a missing token secret', async (t) => {
    use(t, 'access_token', answer(200, 'oauth_token=only'));
    t.match(json((await callback()).body), { code: 'twitter_bad_response' });
  });
  await t.test('a truncated token body', async (t) => {
    use(t, 'access_token', answer(200, 'oauth_token=acc-token&oauth_token_sec'));
    t.match(json((await callback()).body), { code: 'twitter_bad_response', detail: /oauth_token_secret/ });
  });
  t.equal(await countUsers(), 0, 'no user was written');
});

t.test('verify_credentials failures', async (t) => {
  for (const [name, behaviour, status, code] of failures) {
    await t.test(name, async (t) => {
      use(t, 'verify_credentials', behaviour);
      const result = await callback();
      t.equal(result.status, status);
      t.match(json(result.body), { code, status });
    });
  }
  await t.test('JSON without id_str', async (t) => {
    use(t, 'verify_credentials', answer(200, '{"id":42,"screen_name":"fake"}', 'application/json'));
    t.match(json((await callback()).body), { code: 'twitter_bad_response', detail: /id_str/ });
  });
  await t.test('truncated JSON', async (t) => {
    use(t, 'verify_credentials', answer(200, '{"id_str":"42","screen_na', 'application/json'));
    t.match(json((await callback()).body), { code: 'twitter_bad_response', detail: /not JSON/ });
  });
  t.equal(await countUsers(), 0, 'no user was written');
});

/** The Date header has whole seconds: a measured skew may be one more than the offset. */
const near = (value: unknown, expected: number) => typeof value === 'number' && value >= expected && value <= expected + 1;

const calls: Record<'request_token' | 'access_token' | 'verify_credentials', () => Promise<{ status: number; body: string }>> = { request_token: login, access_token: callback, verify_credentials: callback };

t.test("Twitter's error codes map to stable problems at each call", async (t) => {
  for (const endpoint of ['request_token', 'access_token', 'verify_credentials'] as const) {
    for (const [twitterCode, status, message, code, detail] of twitterCodes) {
      for (const [format, behaviour] of [['JSON', twitterError(status, twitterCode, message)], ['XML', xmlError(status, twitterCode, message)]] as const) {
        await t.test(`${endpoint}: ${twitterCode} as ${format}`, async (t) => {
          use(t, endpoint, behaviour);
          const logged = roost.logs.length;
          const result = await calls[endpoint]();
          const body = json(result.body);
          // An expired request token at access_token is the user's to retry, not the operator's to fix.
          if (endpoint === 'access_token' && twitterCode === 89) {
            t.equal(result.status, 400);
            t.match(body, { code: 'twitter_rejected_verifier', twitter_error: 89 });
          } else {
            t.equal(result.status, 502);
            t.match(body, { code, status: 502, twitter_error: twitterCode, detail });
            t.match(body.detail, `(Twitter error ${twitterCode})`);
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
  await callback();
  const line = roost.logs.slice(logged).find((l) => l.msg === 'twitter call failed');
  t.match(line, { code: 89, message: 'Invalid or expired token [token].' });
  t.notMatch(JSON.stringify(roost.logs.slice(logged)), /acc-token/);
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
  t.match(warning, { level: 40, msg: /clock differs from Twitter's by 30[01] s/ });
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
  t.equal(atAccessToken.status, 502, 'access_token');
  t.match(json(atAccessToken.body), { code: 'twitter_unavailable', detail: /oauth\/access_token/ });
  await proxy.restore();
  upstream.behaviours.request_token = WORKING.request_token;

  upstream.behaviours.access_token = (request, response) => {
    proxy.refuseNew();
    WORKING.access_token(request, response);
  };
  const atVerify = await finish();
  t.equal(atVerify.status, 502, 'verify_credentials');
  t.match(json(atVerify.body), { code: 'twitter_unavailable', detail: /verify_credentials/ });
  await proxy.restore();
  upstream.behaviours.access_token = WORKING.access_token;

  t.equal((await finish()).status, 302, 'and signs in once the connections are accepted again');
});

t.test('with Twitter working again, the same roost signs in', async (t) => {
  const result = await callback();
  t.equal(result.status, 302);
  t.equal(await countUsers(), 1);
});

t.test('5xx bodies carry nothing from the original error', async (t) => {
  use(t, 'request_token', answer(500, 'SECRET-INTERNAL-DETAIL'));
  const result = await login();
  t.notMatch(result.body, /SECRET-INTERNAL-DETAIL|at .*\.ts/);
});
