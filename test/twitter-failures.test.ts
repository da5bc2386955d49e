// Twitter failing in every way at each of the three calls: roost answers
// problem+json with a 4xx/502/504 promptly, and writes nothing.
import t from 'tap';
import { Browser } from './helpers/browser.js';
import { answer, hang, reset, startFakeTwitter, WORKING, type Behaviour, type Endpoint } from './helpers/fake-twitter.js';
import { APP_ORIGIN, startRoost } from './helpers/roost.js';

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
  ['401 with a Twitter error', answer(401, '{"errors":[{"code":32,"message":"Could not authenticate you."}]}', 'application/json'), 502, 'twitter_unavailable'],
  ['an XML error', answer(401, '<?xml version="1.0"?><errors><error code="416">Invalid / suspended application</error></errors>', 'application/xml'), 502, 'twitter_unavailable'],
  ['a garbage body', answer(200, '\u0000\u0001garbage{'), 502, 'twitter_bad_response'],
  ['an oversized body', answer(200, 'x'.repeat(200_000)), 502, 'twitter_bad_response'],
  ['a hanging response', hang, 504, 'twitter_timeout'],
  ['a reset connection', reset, 502, 'twitter_unavailable'],
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
    use(t, 'request_token', answer(403, '<?xml version="1.0" encoding="UTF-8"?><errors><error code="415">Callback URL not approved for this client application.</error></errors>', 'application/xml'));
    const result = await login();
    t.equal(result.status, 502);
    t.match(json(result.body), { detail: `${roost.config.callbackUrl} (Twitter error 415)` });
  });
  await t.test('bad consumer credentials point at the configuration', async (t) => {
    use(t, 'request_token', answer(401, '{"errors":[{"code":32,"message":"Could not authenticate you."}]}', 'application/json'));
    t.match(json((await login()).body), { detail: /TWITTER_CONSUMER_KEY/ });
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
    use(t, 'access_token', answer(401, '{"errors":[{"code":89,"message":"Invalid or expired token."}]}', 'application/json'));
    t.match(json((await callback()).body), { code: 'twitter_rejected_verifier', status: 400 });
  });
  await t.test('a missing token secret', async (t) => {
    use(t, 'access_token', answer(200, 'oauth_token=only'));
    t.match(json((await callback()).body), { code: 'twitter_bad_response' });
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
  t.equal(await countUsers(), 0, 'no user was written');
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
