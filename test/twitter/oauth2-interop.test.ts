// The OAuth 2.0 client against software that is not roost's: oauthlib's own
// RFC 6749 server (Python), with PKCE S256 required, HTTP Basic client
// authentication, exact redirect URIs and single-use, expiring codes
// (test/interop/oauthlib_oauth2_provider.py). The browser's part (the trip
// to the authorization URL) is played by fetch.
// Needs Debian's /usr/bin/python3 with python3-oauthlib; without it the
// file fails, it does not skip.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { AppError } from '../../src/errors.js';
import type { TwitterErrorEvent } from '../../src/twitter/client.js';
import { createOAuth2Upstream, type OAuth2UpstreamOptions } from '../../src/twitter/oauth2-client.js';
import type { Upstream, UpstreamStart } from '../../src/twitter/upstream.js';

const PYTHON = '/usr/bin/python3';
const PROVIDER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'oauthlib_oauth2_provider.py');
const CLIENT_ID = 'cm9vc3QtaW50ZXJvcDoxOmNp';
// Characters RFC 6749 §2.3.1 makes the client encode before Basic: a wrong encoding fails at the provider.
const CLIENT_SECRET = 'interop:s3cr+t/=~ é%';
const CALLBACK = 'http://127.0.0.1:9/login/callback';
const TWITTER_ID = '9007199254740993';

interface Provider {
  readonly url: string;
  /** Everything the provider wrote on stderr so far (one line per call). */
  stderr(): string;
}

/** Starts oauthlib_oauth2_provider.py on a free port; stops it at teardown. */
async function startProvider(t: Test, env: Record<string, string> = {}): Promise<Provider> {
  const child = spawn(PYTHON, [PROVIDER_SCRIPT, '0', CLIENT_ID, CLIENT_SECRET], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', ...env } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`the oauthlib OAuth 2.0 provider did not start within 10 s: ${stderr}`)), 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = /^(\d+)\r?\n/.exec(stdout);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the oauthlib OAuth 2.0 provider exited with ${code} before listening: ${stderr}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

/** Everything the client reported and threw, to be searched for secrets at the end. */
const written: string[] = [];
const secretsSeen = new Set<string>([CLIENT_SECRET]);

function upstreamFor(provider: Provider, overrides: Partial<OAuth2UpstreamOptions> = {}): Upstream {
  return createOAuth2Upstream({
    apiUrl: provider.url,
    authorizeUrl: `${provider.url}/i/oauth2/authorize`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    timeoutMs: 5000,
    email: 'optional',
    onTwitterError: (event: TwitterErrorEvent) => written.push(JSON.stringify(event)),
    ...overrides,
  });
}

/** The browser at X: the provider approves at once and redirects to the callback with code and state. */
async function approve(t: Test, start: UpstreamStart): Promise<string> {
  const answer = await fetch(start.location, { redirect: 'manual' });
  t.equal(answer.status, 302, `the provider approves (reason: ${answer.headers.get('x-interop-reason')})`);
  const back = new URL(answer.headers.get('location') ?? 'http://invalid/');
  t.equal(`${back.origin}${back.pathname}`, new URL(start.location).searchParams.get('redirect_uri'), 'back to the callback');
  t.equal(back.searchParams.get('state'), start.handle, 'the state comes back as sent');
  t.equal(back.searchParams.get('error'), null);
  const code = back.searchParams.get('code') ?? '';
  t.ok(code.length > 0, 'with a code');
  secretsSeen.add(code);
  secretsSeen.add(start.secret);
  return code;
}

async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    written.push(error.message, error.detail, JSON.stringify(error.members));
    return error;
  }
  throw new Error('expected a failure');
}

/** The provider's stderr lines written while `work` ran. */
async function providerLines(provider: Provider, work: () => Promise<unknown>): Promise<string> {
  const before = provider.stderr().length;
  await work();
  // stderr is read asynchronously: give the last line a moment to arrive.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return provider.stderr().slice(before);
}

const usersMe = (provider: Provider, token: string) =>
  fetch(`${provider.url}/2/users/me?user.fields=id,name,username`, { headers: { authorization: `Bearer ${token}` } });

const check = await new Promise<{ code: number; out: string }>((resolve) =>
  execFile(PYTHON, ['-c', 'import oauthlib.oauth2; print(oauthlib.__version__)'], { timeout: 15_000 }, (error, stdout, stderr) =>
    resolve({ code: error ? 1 : 0, out: `${stdout}${stderr}` }),
  ),
);
if (check.code !== 0) {
  t.fail(`${PYTHON} cannot import oauthlib, which this test needs. Install it with: apt-get install -y python3-oauthlib\n${check.out}`);
} else {
  t.comment(`python oauthlib: ${check.out.trim()}`);
  await suite();
}

async function suite() {
  const provider = await startProvider(t);

  t.test('the whole sign-in against oauthlib, then the revocation', async (t) => {
    const upstream = upstreamFor(provider);
    const start = await upstream.begin(CALLBACK);
    t.match(start.location, new RegExp(`^${provider.url}/i/oauth2/authorize\\?`));
    let code = '';
    const authorizeLines = await providerLines(provider, async () => {
      code = await approve(t, start);
    });
    t.match(authorizeLines, /authorized scope=tweet\.read users\.read users\.email\n/, 'the provider saw the scopes, users.email included');

    let signIn: Awaited<ReturnType<Upstream['complete']>> | undefined;
    const lines = await providerLines(provider, async () => {
      signIn = await upstream.complete(start, code, CALLBACK);
    });
    t.same(signIn?.profile, {
      twitterId: TWITTER_ID,
      screenName: 'oauthlib_interop',
      name: 'Interop User',
      picture: 'https://pbs.twimg.com/profile_images/1/interop_normal.png',
      email: 'interop@example.test',
    });
    t.equal(signIn?.credentials.protocol, 'oauth2');
    t.equal(signIn?.credentials.secret, null);
    const token = signIn?.credentials.token ?? '';
    secretsSeen.add(token);
    t.match(lines, /token issued scope=tweet\.read users\.read users\.email\n/);
    t.match(lines, /users\/me user\.fields=id,name,username,profile_image_url,confirmed_email scope=/);
    t.notMatch(lines, /refused/);

    t.equal((await usersMe(provider, token)).status, 200, 'the token works before the revocation');
    const revoked = await providerLines(provider, () => upstream.revoke({ protocol: 'oauth2', token, secret: null }));
    t.match(revoked, /token revoked\n/);
    const after = await usersMe(provider, token);
    t.equal(after.status, 401, 'and not after it');
    t.equal(after.headers.get('x-interop-reason'), 'bearer_unknown');
  });

  t.test('with email off: no users.email, no confirmed_email, no address', async (t) => {
    const upstream = upstreamFor(provider, { email: 'off' });
    const start = await upstream.begin(CALLBACK);
    const code = await approve(t, start);
    let email: string | null | undefined;
    const lines = await providerLines(provider, async () => {
      email = (await upstream.complete(start, code, CALLBACK)).profile.email;
    });
    t.match(lines, /token issued scope=tweet\.read users\.read\n/);
    t.match(lines, /users\/me user\.fields=id,name,username,profile_image_url scope=tweet\.read users\.read\n/);
    t.equal(email, null);
  });

  t.test('a wrong client secret: refused at the token endpoint as an operator problem', async (t) => {
    const start = await upstreamFor(provider).begin(CALLBACK);
    const code = await approve(t, start);
    const wrong = upstreamFor(provider, { clientSecret: `${CLIENT_SECRET}x` });
    secretsSeen.add(`${CLIENT_SECRET}x`);
    let error: AppError | undefined;
    const lines = await providerLines(provider, async () => {
      error = await failureOf(wrong.complete(start, code, CALLBACK));
    });
    t.match(error, { code: 'twitter_auth_failed', status: 502, detail: /invalid_client.*check TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/, members: { twitter_error: 'invalid_client' } });
    t.match(lines, /refused POST \/2\/oauth2\/token: client_secret, invalid_client/);
    // The client was refused before the code was looked at: the right client can still use it.
    const signIn = await upstreamFor(provider).complete(start, code, CALLBACK);
    t.equal(signIn.profile.twitterId, TWITTER_ID);
  });

  t.test('a verifier that is not the one of the challenge: the user must start again', async (t) => {
    const upstream = upstreamFor(provider);
    const start = await upstream.begin(CALLBACK);
    const other = await upstream.begin(CALLBACK);
    const code = await approve(t, start);
    secretsSeen.add(other.secret);
    let error: AppError | undefined;
    const lines = await providerLines(provider, async () => {
      error = await failureOf(upstream.complete({ handle: start.handle, secret: other.secret }, code, CALLBACK));
    });
    t.match(error, { code: 'twitter_rejected_verifier', status: 400 });
    t.match(lines, /refused POST \/2\/oauth2\/token: invalid_grant/);
    t.match(await failureOf(upstream.complete(start, code, CALLBACK)), { code: 'twitter_rejected_verifier' }, 'and the code is spent');
  });

  t.test('a code used twice: refused, and the first token revoked', async (t) => {
    const upstream = upstreamFor(provider);
    const start = await upstream.begin(CALLBACK);
    const code = await approve(t, start);
    const first = await upstream.complete(start, code, CALLBACK);
    secretsSeen.add(first.credentials.token);
    let error: AppError | undefined;
    const lines = await providerLines(provider, async () => {
      error = await failureOf(upstream.complete(start, code, CALLBACK));
    });
    t.match(error, { code: 'twitter_rejected_verifier' });
    t.match(lines, /refused POST \/2\/oauth2\/token: code_replayed, invalid_grant/);
    t.equal((await usersMe(provider, first.credentials.token)).status, 401, 'RFC 6749 §4.1.2: what the code got is revoked');
  });

  t.test('a redirect_uri other than the authorization request’s: the callback URL is named', async (t) => {
    const upstream = upstreamFor(provider);
    const start = await upstream.begin(CALLBACK);
    const code = await approve(t, start);
    const elsewhere = 'http://127.0.0.1:10/login/callback';
    let error: AppError | undefined;
    const lines = await providerLines(provider, async () => {
      error = await failureOf(upstream.complete(start, code, elsewhere));
    });
    t.match(error, {
      code: 'twitter_callback_not_approved',
      detail: /invalid_request: Mismatching redirect URI\..*the callback URL http:\/\/127\.0\.0\.1:10\/login\/callback is not registered for this client in X's developer portal/,
    });
    t.match(lines, /refused POST \/2\/oauth2\/token: redirect_uri_mismatch/);
  });

  t.test('an unregistered callback is refused at the authorization page, never redirected to', async (t) => {
    const start = await upstreamFor(provider).begin('http://evil.test/login/callback');
    const answer = await fetch(start.location, { redirect: 'manual' });
    t.equal(answer.status, 400);
    t.equal(answer.headers.get('location'), null);
    t.match(answer.headers.get('x-interop-reason'), /redirect_uri_not_registered/);
  });

  t.test('an expired code: the user must start again', async (t) => {
    const shortLived = await startProvider(t, { INTEROP_CODE_LIFETIME: '0.5' });
    const upstream = upstreamFor(shortLived);
    const start = await upstream.begin(CALLBACK);
    const code = await approve(t, start);
    await new Promise((resolve) => setTimeout(resolve, 800));
    let error: AppError | undefined;
    const lines = await providerLines(shortLived, async () => {
      error = await failureOf(upstream.complete(start, code, CALLBACK));
    });
    t.match(error, { code: 'twitter_rejected_verifier' });
    t.match(lines, /refused POST \/2\/oauth2\/token: code_expired/);

    // The same provider, in time: the lifetime is what failed, nothing else.
    const fresh = await upstream.begin(CALLBACK);
    t.equal((await upstream.complete(fresh, await approve(t, fresh), CALLBACK)).profile.twitterId, TWITTER_ID);
  });

  t.test('revoking with a wrong client secret is an operator problem', async (t) => {
    const upstream = upstreamFor(provider);
    const start = await upstream.begin(CALLBACK);
    const { credentials } = await upstream.complete(start, await approve(t, start), CALLBACK);
    secretsSeen.add(credentials.token);
    const error = await failureOf(upstreamFor(provider, { clientSecret: 'not-the-secret' }).revoke(credentials));
    t.match(error, { code: 'twitter_auth_failed', detail: /TWITTER_CLIENT_SECRET/ });
    t.equal((await usersMe(provider, credentials.token)).status, 200, 'the token still works');
  });

  t.test('the provider is strict about what a client could get wrong', async (t) => {
    const start = await upstreamFor(provider).begin(CALLBACK);
    const location = new URL(start.location);
    const refusedAt = async (mutate: (query: URLSearchParams) => void) => {
      const url = new URL(location);
      mutate(url.searchParams);
      const answer = await fetch(url, { redirect: 'manual' });
      return { status: answer.status, reason: answer.headers.get('x-interop-reason') ?? '', error: new URL(answer.headers.get('location') ?? 'http://x/').searchParams.get('error') };
    };
    t.match(await refusedAt((q) => q.set('code_challenge_method', 'plain')), { status: 302, error: 'invalid_request', reason: /S256/ }, 'plain PKCE');
    t.match(await refusedAt((q) => q.delete('code_challenge')), { status: 302, error: 'invalid_request', reason: /challenge/i }, 'no PKCE');
    t.match(await refusedAt((q) => q.delete('state')), { status: 302, error: 'invalid_request', reason: /state/ }, 'no state');
    t.match(await refusedAt((q) => q.set('scope', 'tweet.read users.read offline.access')), { status: 302, error: 'invalid_scope' }, 'offline.access');
    t.match(await refusedAt((q) => q.set('client_id', 'another')), { status: 400, reason: /client_id/ }, 'another client');

    // A token request with the secret in the body (client_secret_post) instead of Basic.
    const code = await approve(t, await upstreamFor(provider).begin(CALLBACK));
    const post = await fetch(`${provider.url}/2/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: 'a'.repeat(43), client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    });
    t.equal(post.status, 401);
    t.match(post.headers.get('x-interop-reason'), /client_auth_not_basic/);
    // Basic without form-encoding the secret first: its ':' makes it unreadable.
    const raw = await fetch(`${provider.url}/2/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: 'a'.repeat(43) }),
    });
    t.equal(raw.status, 401);
    t.match(raw.headers.get('x-interop-reason'), /client_auth_not_form_encoded/);
  });

  t.test('nothing secret reached an event or an error on any of the paths above', async (t) => {
    t.ok(written.length >= 10, `${written.length} events and errors written`);
    t.ok(secretsSeen.size >= 10, `${secretsSeen.size} secrets to look for`);
    for (const secret of secretsSeen) {
      const leaked = written.filter((line) => line.includes(secret) || line.includes(encodeURIComponent(secret)));
      t.same(leaked, [], `${secret.slice(0, 4)}… appears nowhere`);
    }
  });
}
