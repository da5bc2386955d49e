// GET /metrics after real sign-ins: the counters move by exactly what
// happened, routes are labelled by pattern, and METRICS_TOKEN guards it.
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { answer, hang, startFakeTwitter } from '../helpers/fake-twitter.js';
import { consent, signIn } from '../helpers/flow.js';
import { parsePrometheus, sampleKey, type Samples } from '../helpers/prometheus.js';
import { APP_ORIGIN, startRoost, type Roost } from '../helpers/roost.js';

async function scrape(roost: Roost, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string; samples: Samples }> {
  const response = await fetch(`${roost.url}/metrics`, { headers });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text, samples: response.status === 200 ? parsePrometheus(text) : new Map() };
}

const value = (samples: Samples, name: string, labels: Record<string, string> = {}) => samples.get(sampleKey(name, labels)) ?? 0;

t.test('sign-ins, tokens, Twitter calls and HTTP requests are counted', async (t) => {
  const roost = await startRoost(t);
  const before = (await scrape(roost)).samples;
  t.equal(value(before, 'roost_sign_ins_started_total'), 0);

  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) tokens.push(fragmentOf((await signIn(new Browser(), roost, { user: i })).location).get('access_token') as string);
  t.match((await signIn(new Browser(), roost, { action: 'cancel' })).location, /#error=access_denied(&|$)/, 'a cancelled sign-in');
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, roost);
  t.equal((await browser.get(callbackUrl)).status, 302);
  t.equal((await browser.get(callbackUrl)).status, 400, 'a replayed callback fails');
  t.equal((await new Browser().get(`${roost.url}/login?return_to=${encodeURIComponent('https://evil.example/')}`)).status, 400);
  t.equal((await new Browser().get(`${roost.url}/login`)).status, 400);
  t.equal((await new Browser().get(`${roost.url}/login/callback?oauth_token=only`)).status, 400);
  t.equal((await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${tokens[0]}` } })).status, 200);
  t.equal((await fetch(`${roost.url}/no/such/path/123`)).status, 404);

  const { status, type, text, samples } = await scrape(roost);
  t.equal(status, 200);
  t.match(type, /^text\/plain; version=0\.0\.4/);
  // Started: 3 approved, 1 cancelled, 1 approved then replayed. The refused return_to never started.
  t.equal(value(samples, 'roost_sign_ins_started_total'), 5);
  t.equal(value(samples, 'roost_sign_ins_completed_total'), 4);
  t.equal(value(samples, 'roost_sign_ins_denied_total', { reason: 'cancelled' }), 1);
  t.equal(value(samples, 'roost_sign_ins_failed_total', { step: 'finish', reason: 'flow_not_found' }), 1);
  t.equal(value(samples, 'roost_sign_ins_failed_total', { step: 'finish', reason: 'invalid_callback' }), 1);
  t.equal(value(samples, 'roost_sign_ins_failed_total', { step: 'start', reason: 'return_to_not_allowed' }), 1);
  t.equal(value(samples, 'roost_sign_ins_failed_total', { step: 'start', reason: 'invalid_request' }), 1, 'a request the schema refuses counts under its problem code');
  t.equal(value(samples, 'roost_tokens_issued_total', { grant: 'sign_in' }), 4);
  t.equal(value(samples, 'roost_twitter_request_duration_seconds_count', { endpoint: 'oauth/request_token', outcome: 'ok' }), 5);
  t.equal(value(samples, 'roost_twitter_request_duration_seconds_count', { endpoint: 'oauth/access_token', outcome: 'ok' }), 4);
  t.equal(value(samples, 'roost_twitter_request_duration_seconds_count', { endpoint: '1.1/account/verify_credentials.json', outcome: 'ok' }), 4);

  t.equal(value(samples, 'roost_http_requests_total', { method: 'GET', route: '/login', status: '302' }), 5);
  t.equal(value(samples, 'roost_http_requests_total', { method: 'GET', route: '/login', status: '400' }), 2);
  t.equal(value(samples, 'roost_http_requests_total', { method: 'GET', route: '/login/callback', status: '302' }), 5);
  t.equal(value(samples, 'roost_http_requests_total', { method: 'GET', route: '/login/callback', status: '400' }), 2);
  t.equal(value(samples, 'roost_http_requests_total', { method: 'GET', route: '/me', status: '200' }), 1);
  t.equal(value(samples, 'roost_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1);
  t.equal(value(samples, 'roost_http_request_duration_seconds_count', { method: 'GET', route: '/me', status: '200' }), 1);
  t.ok(value(samples, 'process_cpu_user_seconds_total') > 0, 'process metrics');
  t.ok(samples.has('nodejs_heap_size_used_bytes'), 'Node.js metrics');

  for (const raw of ['/no/such/path', 'evil.example', 'oauth_token=', 'return_to=']) t.notOk(text.includes(raw), `no raw URL part ${raw} in the metrics`);
  for (const token of tokens) t.notOk(text.includes(token), 'no token in the metrics');
});

t.test('tokens by grant, and refreshes by outcome', async (t) => {
  const roost = await startRoost(t);
  const post = (fields: Record<string, string>) =>
    fetch(`${roost.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  const fragment = fragmentOf((await signIn(new Browser(), roost)).location);
  const refreshed = await post({ grant_type: 'refresh_token', refresh_token: fragment.get('refresh_token') as string });
  t.equal(refreshed.status, 200);
  await refreshed.arrayBuffer();
  const refused = await post({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
  t.equal(refused.status, 400);
  await refused.arrayBuffer();

  // The code mode: the callback hands out a code, POST /token the tokens.
  const verifier = randomBytes(32).toString('base64url');
  const returnTo = `${APP_ORIGIN}/cb`;
  const callback = await signIn(new Browser(), roost, {
    returnTo,
    loginQuery: { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' },
  });
  const code = new URL(callback.location as string).searchParams.get('code') as string;
  const redeemed = await post({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: returnTo });
  t.equal(redeemed.status, 200);
  await redeemed.arrayBuffer();

  const { samples } = await scrape(roost);
  t.equal(value(samples, 'roost_sign_ins_completed_total'), 2);
  t.equal(value(samples, 'roost_tokens_issued_total', { grant: 'sign_in' }), 1, 'the fragment-mode callback');
  t.equal(value(samples, 'roost_tokens_issued_total', { grant: 'authorization_code' }), 1, 'the code, at POST /token');
  t.equal(value(samples, 'roost_tokens_issued_total', { grant: 'refresh_token' }), 1);
  t.equal(value(samples, 'roost_refreshes_total', { outcome: 'ok' }), 1);
  t.equal(value(samples, 'roost_refreshes_total', { outcome: 'invalid_grant' }), 1);
});

t.test('Twitter failures are counted by endpoint and code', async (t) => {
  const twitter = await startFakeTwitter();
  t.teardown(() => twitter.close());
  const roost = await startRoost(t, { providerUrl: twitter.url });
  const login = () => new Browser().get(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`);

  twitter.behaviours.request_token = answer(500, 'down');
  t.equal((await login()).status, 502);
  twitter.behaviours.request_token = hang;
  t.equal((await login()).status, 504);

  const { samples } = await scrape(roost);
  t.equal(value(samples, 'roost_twitter_errors_total', { endpoint: 'oauth/request_token', reason: 'twitter_unavailable' }), 1);
  t.equal(value(samples, 'roost_twitter_errors_total', { endpoint: 'oauth/request_token', reason: 'twitter_timeout' }), 1);
  t.equal(value(samples, 'roost_twitter_request_duration_seconds_count', { endpoint: 'oauth/request_token', outcome: 'error' }), 2);
  t.ok(value(samples, 'roost_twitter_request_duration_seconds_sum', { endpoint: 'oauth/request_token', outcome: 'error' }) >= 1, 'the timeout took its second');
  t.equal(value(samples, 'roost_sign_ins_failed_total', { step: 'start', reason: 'twitter_timeout' }), 1);
  t.equal(value(samples, 'roost_sign_ins_started_total'), 0);
});

t.test('with METRICS_TOKEN only its bearer may read the metrics', async (t) => {
  const token = 'm'.repeat(20) + 'etrics-token-of-forty-chars';
  const roost = await startRoost(t, { env: { METRICS_TOKEN: token } });
  const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Basic ${token}` }, { authorization: `Bearer ${token}x` }, { authorization: `Bearer  ${token} extra` }];
  for (const headers of attempts) {
    const response = await fetch(`${roost.url}/metrics`, { headers });
    t.equal(response.status, 401, JSON.stringify(headers));
    t.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.equal(response.headers.get('www-authenticate'), 'Bearer realm="roost-metrics"');
    t.match(await response.json(), { code: 'invalid_token', status: 401 });
  }
  t.equal((await scrape(roost, { authorization: `Bearer ${token}` })).status, 200);
  t.equal((await scrape(roost, { authorization: `bearer ${token}` })).status, 200, 'the scheme is case-insensitive (RFC 9110 §11.1)');
  t.notOk(roost.rawLogs.some((line) => line.includes(token)), 'the token is never logged');
});

t.test('POST /metrics is a 404 problem', async (t) => {
  const roost = await startRoost(t);
  const response = await fetch(`${roost.url}/metrics`, { method: 'POST' });
  t.equal(response.status, 404);
  t.match(await response.json(), { code: 'not_found' });
});
