// The benchmark's lean provider must stay an honest Twitter: roost's real
// client completes a sign-in against it, and a request signed with the
// wrong secret, a replayed request or a wrong verifier is refused.
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createLoadProvider, FIRST_USER_ID, LATENCY_PATH, TIMES_PATH } from '../../bench/load-provider.js';
import { hmacSha1Signature, percentEncode, signatureBaseString } from '../../src/sandbox/oauth1-signature.js';
import { createTwitterClient, type TokenPair } from '../../src/twitter/client.js';

const CONSUMER = { consumerKey: 'bench-key', consumerSecret: 'bench-secret' };
const server = createLoadProvider({ ...CONSUMER, latencyMs: 0, users: 2 });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const client = createTwitterClient({ apiUrl, ...CONSUMER, timeoutMs: 2000 });
const callbackUrl = 'http://roost.test/login/callback';

/** The browser's hop: the provider approves at once and redirects to the callback. */
async function authenticate(token: string): Promise<URL> {
  const response = await fetch(client.authenticateUrl(token), { redirect: 'manual' });
  if (response.status !== 302) throw new Error(`authenticate answered ${response.status}`);
  return new URL(response.headers.get('location') ?? '');
}

t.test('roost’s client completes a sign-in, users cycle, and the provider times each flow', async (t) => {
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) {
    const request = await client.requestToken(callbackUrl);
    const back = await authenticate(request.token);
    t.equal(`${back.origin}${back.pathname}`, callbackUrl);
    t.equal(back.searchParams.get('oauth_token'), request.token);
    const access = await client.accessToken(request, back.searchParams.get('oauth_verifier') ?? '');
    const profile = await client.verifyCredentials(access);
    seen.push(profile.twitterId);
    t.match(profile, { screenName: /^bench_\d+$/, email: /@example\.com$/ });
  }
  t.same(seen, [String(FIRST_USER_ID), String(FIRST_USER_ID + 1n), String(FIRST_USER_ID)]);
  const times = (await (await fetch(`${apiUrl}${TIMES_PATH}`)).json()) as Record<string, Record<string, number>>;
  const entries = Object.values(times);
  t.equal(entries.length, 3);
  for (const entry of entries) t.ok(entry.requestToken! > 0 && entry.accessToken! > 0 && entry.verifyCredentials! > 0, 'each call was timed');
  t.same(await (await fetch(`${apiUrl}${TIMES_PATH}`)).json(), {}, 'taking the times empties them');
});

t.test('a wrong consumer secret is refused', async (t) => {
  const forger = createTwitterClient({ apiUrl, consumerKey: CONSUMER.consumerKey, consumerSecret: 'not-the-secret', timeoutMs: 2000 });
  await t.rejects(forger.requestToken(callbackUrl), { code: 'twitter_auth_failed', members: { twitter_error: 32 } });
});

t.test('a wrong verifier is refused, and the request token is then spent', async (t) => {
  const request = await client.requestToken(callbackUrl);
  const back = await authenticate(request.token);
  await t.rejects(client.accessToken(request, 'wrong-verifier'), { code: 'twitter_rejected_verifier' });
  await t.rejects(client.accessToken(request, back.searchParams.get('oauth_verifier') ?? ''), { code: 'twitter_rejected_verifier' });
});

t.test('a replayed signed request is refused (same nonce and timestamp)', async (t) => {
  const request = await client.requestToken(callbackUrl);
  const back = await authenticate(request.token);
  const header = signedHeader('POST', `${apiUrl}/oauth/access_token`, request, { oauth_verifier: back.searchParams.get('oauth_verifier') ?? '' });
  const post = () => fetch(`${apiUrl}/oauth/access_token`, { method: 'POST', headers: { authorization: header } });
  const original = await post();
  t.equal(original.status, 200);
  t.ok(new URLSearchParams(await original.text()).get('oauth_token'));
  const again = await post();
  t.equal(again.status, 401);
});

t.test('an unknown request token gets no redirect', async (t) => {
  const response = await fetch(client.authenticateUrl('no-such-token'), { redirect: 'manual' });
  t.equal(response.status, 400);
});

t.test('the added latency applies to every OAuth answer', async (t) => {
  t.equal((await fetch(`${apiUrl}${LATENCY_PATH}`, { method: 'PUT', body: '60' })).status, 204);
  t.teardown(async () => void (await fetch(`${apiUrl}${LATENCY_PATH}`, { method: 'PUT', body: '0' })));
  const started = performance.now();
  await client.requestToken(callbackUrl);
  t.ok(performance.now() - started >= 55, 'request_token waited for the added latency');
});

/** An OAuth 1.0a header signed independently of roost's client (RFC 5849 §3.4–§3.5). */
function signedHeader(method: string, url: string, token: TokenPair, extra: Record<string, string>): string {
  const oauth: Record<string, string> = {
    oauth_consumer_key: CONSUMER.consumerKey,
    oauth_nonce: `nonce${Math.random().toString(36).slice(2)}`,
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(Date.now() / 1000)),
    oauth_token: token.token,
    oauth_version: '1.0',
    ...extra,
  };
  const signature = hmacSha1Signature(signatureBaseString(method, url, Object.entries(oauth)), CONSUMER.consumerSecret, token.secret);
  const fields = { ...oauth, oauth_signature: signature };
  return `OAuth ${Object.entries(fields).map(([name, value]) => `${percentEncode(name)}="${percentEncode(value)}"`).join(', ')}`;
}
