// The OAuth 1.0a client behind the Upstream interface, against the sandbox
// provider (which checks every signature), through a proxy that records what
// reaches it: the email is asked for exactly when the email mode wants it.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { AppError } from '../../src/errors.js';
import { startSandboxServer } from '../../src/sandbox/provider.js';
import { createDefaultSandboxUsers } from '../../src/sandbox/users.js';
import { createOAuth1Upstream } from '../../src/twitter/oauth1-upstream.js';
import type { EmailMode, Upstream, UpstreamStart } from '../../src/twitter/upstream.js';

const CONSUMER_KEY = 'oauth1-upstream-test-key';
const CONSUMER_SECRET = 'oauth1-upstream-test-secret';
const CALLBACK = 'http://127.0.0.1:9/login/callback';
const users = createDefaultSandboxUsers();
const alice = users[0]!;

// The proxy listens first: the sandbox rebuilds the signed URL from its baseUrl, which is the proxy's.
const requests: string[] = [];
let sandboxUrl = '';
const proxy = createServer((incoming, outgoing) => {
  requests.push(`${incoming.method} ${incoming.url}`);
  const target = new URL(incoming.url ?? '/', sandboxUrl);
  const forward = httpRequest(target, { method: incoming.method, headers: incoming.headers }, (answer) => {
    outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(outgoing);
  });
  forward.on('error', () => outgoing.writeHead(502).end());
  incoming.pipe(forward);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
const sandbox = await startSandboxServer({ consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, users, baseUrl: proxyUrl });
sandboxUrl = sandbox.url;
t.teardown(async () => {
  await sandbox.close();
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
});

function upstreamFor(email: EmailMode, consumerSecret = CONSUMER_SECRET): { upstream: Upstream; timedCalls: string[] } {
  const timedCalls: string[] = [];
  const upstream = createOAuth1Upstream({
    apiUrl: proxyUrl,
    consumerKey: CONSUMER_KEY,
    consumerSecret,
    timeoutMs: 5000,
    email,
    timed: async (endpoint, work) => {
      timedCalls.push(endpoint);
      return work();
    },
  });
  return { upstream, timedCalls };
}

/** The person approves at the sandbox's consent page as `userId`; returns the verifier on the callback. */
async function approve(t: Test, start: UpstreamStart, userId = alice.id_str): Promise<string> {
  const decision = await fetch(start.location, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ oauth_token: start.handle, user_id: userId, action: 'approve' }),
    redirect: 'manual',
  });
  t.equal(decision.status, 302, 'the sandbox approves');
  const back = new URL(decision.headers.get('location') ?? 'http://invalid/');
  t.equal(`${back.origin}${back.pathname}`, CALLBACK);
  t.equal(back.searchParams.get('oauth_token'), start.handle, 'the handle comes back on the callback');
  return back.searchParams.get('oauth_verifier') ?? '';
}

async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const verifyCredentialsQueries = (from: number) =>
  requests
    .slice(from)
    .filter((line) => line.startsWith('GET /1.1/account/verify_credentials.json'))
    .map((line) => line.slice(line.indexOf('?') + 1));

t.test('a whole sign-in, each call timed under its endpoint name', async (t) => {
  const { upstream, timedCalls } = upstreamFor('optional');
  t.equal(upstream.protocol, 'oauth1');
  const start = await upstream.begin(CALLBACK);
  t.equal(start.location, `${proxyUrl}/oauth/authenticate?oauth_token=${encodeURIComponent(start.handle)}`);
  t.ok(start.secret.length > 0, 'the request token secret is kept for the exchange');
  t.same(timedCalls, ['oauth/request_token']);

  const verifier = await approve(t, start);
  const from = requests.length;
  const signIn = await upstream.complete(start, verifier, CALLBACK);
  t.same(signIn.profile, {
    twitterId: alice.id_str,
    screenName: alice.screen_name,
    name: alice.name,
    picture: alice.profile_image_url_https,
    email: alice.email,
  });
  t.equal(signIn.credentials.protocol, 'oauth1');
  t.ok(signIn.credentials.token.length > 0 && (signIn.credentials.secret ?? '').length > 0, 'an access token and its secret');
  t.same(timedCalls, ['oauth/request_token', 'oauth/access_token', '1.1/account/verify_credentials.json']);
  t.same(verifyCredentialsQueries(from), ['include_email=true&skip_status=true&include_entities=false'], 'the email is asked for');
});

for (const email of ['optional', 'required'] as const) {
  t.test(`email ${email}: include_email=true reaches the provider`, async (t) => {
    const { upstream } = upstreamFor(email);
    const start = await upstream.begin(CALLBACK);
    const verifier = await approve(t, start);
    const from = requests.length;
    t.equal((await upstream.complete(start, verifier, CALLBACK)).profile.email, alice.email);
    t.same(verifyCredentialsQueries(from), ['include_email=true&skip_status=true&include_entities=false']);
  });
}

t.test('email off: include_email is not sent, and no address comes back', async (t) => {
  const { upstream } = upstreamFor('off');
  const start = await upstream.begin(CALLBACK);
  const verifier = await approve(t, start);
  const from = requests.length;
  const signIn = await upstream.complete(start, verifier, CALLBACK);
  t.same(verifyCredentialsQueries(from), ['skip_status=true&include_entities=false'], 'the signed query has no include_email');
  t.equal(signIn.profile.email, null);
  t.equal(signIn.profile.twitterId, alice.id_str, 'the rest of the profile is there');
});

t.test('a verifier the provider did not issue: the user must start again', async (t) => {
  const { upstream } = upstreamFor('optional');
  const start = await upstream.begin(CALLBACK);
  await approve(t, start);
  t.match(await failureOf(upstream.complete(start, 'not-the-verifier', CALLBACK)), { code: 'twitter_rejected_verifier', status: 400 });
});

t.test('a wrong consumer secret is an operator problem at begin()', async (t) => {
  const { upstream, timedCalls } = upstreamFor('optional', 'wrong-secret');
  t.match(await failureOf(upstream.begin(CALLBACK)), { code: 'twitter_auth_failed', detail: /TWITTER_CONSUMER_SECRET/ });
  t.same(timedCalls, ['oauth/request_token'], 'the failed call is timed too');
});

t.test('revoke() invalidates the access token at the provider', async (t) => {
  const { upstream, timedCalls } = upstreamFor('optional');
  const start = await upstream.begin(CALLBACK);
  const { credentials } = await upstream.complete(start, await approve(t, start), CALLBACK);
  timedCalls.length = 0;
  const from = requests.length;
  await upstream.revoke(credentials);
  t.same(timedCalls, ['1.1/oauth/invalidate_token']);
  t.same(requests.slice(from), ['POST /1.1/oauth/invalidate_token']);
  // Revoked: the provider no longer knows the credentials, so a second revocation is refused.
  t.match(await failureOf(upstream.revoke(credentials)), { code: 'twitter_token_invalid' });
});

t.test('revoke() refuses OAuth 2.0 credentials without a call', async (t) => {
  const { upstream, timedCalls } = upstreamFor('optional');
  const from = requests.length;
  const error = await failureOf(upstream.revoke({ protocol: 'oauth2', token: 'an-oauth2-token', secret: null }));
  t.match(error, { code: 'internal_error', detail: /OAuth 2\.0; the OAuth 1\.0a client cannot revoke them/ });
  t.equal(requests.length, from);
  t.same(timedCalls, []);
});

t.test('checkClock() answers with the skew', async (t) => {
  const skew = await upstreamFor('optional').upstream.checkClock();
  t.ok(skew !== undefined && Math.abs(skew) <= 2, `no skew with a provider on this machine (got ${skew})`);
});
