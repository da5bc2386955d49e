// Interoperability: roost, unchanged, against software that is not roost's.
// - The Twitter side is oauthlib's own OAuth 1.0a server endpoints (Python),
//   with a strict request validator (test/interop/oauthlib_provider.py).
// - The tokens are verified by PyJWT against roost's JWKS
//   (test/interop/verify_jwt.py), as a Python sibling service would, and by jose.
// Needs Debian's /usr/bin/python3 with python3-oauthlib, python3-jwt and
// python3-cryptography; without them the file fails, it does not skip.
import { execFile, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import OAuth from 'oauth-1.0a';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { APP_ORIGIN, CONSUMER_KEY, CONSUMER_SECRET, startRoost, type Roost } from '../helpers/roost.js';

const PYTHON = '/usr/bin/python3';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROVIDER_SCRIPT = path.join(HERE, '..', 'interop', 'oauthlib_provider.py');
const VERIFY_SCRIPT = path.join(HERE, '..', 'interop', 'verify_jwt.py');
/** The provider's user: an id above 2^53, so reading `id` instead of `id_str` shows. */
const TWITTER_ID = '9007199254740993';
const TWITTER_ERROR_32 = { errors: [{ code: 32, message: 'Could not authenticate you.' }] };

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Provider {
  readonly url: string;
  /** Everything the provider wrote on stderr so far (one line per refusal). */
  stderr(): string;
}

/** Starts oauthlib_provider.py on a free port; stops it at teardown. */
async function startProvider(t: { teardown(fn: () => unknown): void }, consumerKey: string, consumerSecret: string): Promise<Provider> {
  const child = spawn(PYTHON, [PROVIDER_SCRIPT, '0', consumerKey, consumerSecret], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`the oauthlib provider did not start within 10 s: ${stderr}`)), 10_000);
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
      reject(new Error(`the oauthlib provider exited with ${code} before listening: ${stderr}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

/** Signs like a Twitter client, with the oauth-1.0a package directly (no roost code). */
function signer(consumer: { key: string; secret: string }, method: 'HMAC-SHA1' | 'HMAC-SHA256' = 'HMAC-SHA1') {
  const oauth = new OAuth({
    consumer,
    signature_method: method,
    hash_function: (base, key) => createHmac(method === 'HMAC-SHA1' ? 'sha1' : 'sha256', key).update(base).digest('base64'),
  });
  return (httpMethod: string, url: string, extra: Record<string, string> = {}, token?: { key: string; secret: string }) => {
    const signed = oauth.authorize({ url, method: httpMethod, data: extra }, token);
    return oauth.toHeader({ ...signed, ...extra }).Authorization;
  };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return { notJson: body };
  }
}

async function call(method: string, url: string, authorization: string) {
  const response = await fetch(url, { method, headers: { authorization }, redirect: 'manual' });
  const body = await response.text();
  return { status: response.status, body, reason: response.headers.get('x-interop-reason'), location: response.headers.get('location') };
}

const missing = await run(PYTHON, ['-c', 'import oauthlib.oauth1, jwt, cryptography; print(oauthlib.__version__, jwt.__version__)']);
if (missing.code !== 0) {
  t.fail(
    `${PYTHON} cannot import oauthlib, jwt and cryptography, which the interoperability tests need. ` +
      `Install them with: apt-get install -y python3-oauthlib python3-jwt python3-cryptography\n${missing.stderr}`,
  );
} else {
  t.comment(`python oauthlib/PyJWT: ${missing.stdout.trim()}`);
  await suite();
}

async function suite() {
  const provider = await startProvider(t, CONSUMER_KEY, CONSUMER_SECRET);
  const roost = await startRoost(t, { providerUrl: provider.url });
  const jwksUrl = `${roost.url}/.well-known/jwks.json`;
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const verifyWithJose = (token: string) => jwtVerify(token, jwks, { issuer: roost.url, algorithms: ['ES256'], typ: 'at+jwt', requiredClaims: ['exp'] });
  const verifyWithPyJwt = (token: string, issuer = roost.url) => run(PYTHON, [VERIFY_SCRIPT, jwksUrl, issuer, token]);

  /** The browser flow, hop by hop, through the oauthlib provider. */
  async function signIn(target: Roost, returnTo = `${APP_ORIGIN}/cb`) {
    const browser = new Browser();
    const login = await browser.get(`${target.url}/login?return_to=${encodeURIComponent(returnTo)}`);
    const flowCookieSet = browser.cookies.has('roost_flow');
    const authorize = login.location ? await browser.get(login.location) : undefined;
    const callback = authorize?.location ? await browser.get(authorize.location) : undefined;
    return { browser, flowCookieSet, login, authorize, callback };
  }

  t.test('the whole flow runs against oauthlib, and the token verifies with jose and PyJWT', async (t) => {
    const { browser, flowCookieSet, login, authorize, callback } = await signIn(roost);
    t.equal(login.status, 302, `/login redirects (got ${login.status}: ${login.body})`);
    t.match(login.location, new RegExp(`^${provider.url}/oauth/authenticate\\?oauth_token=[A-Za-z0-9]{40}$`));
    t.ok(flowCookieSet, '/login sets the flow cookie');
    t.equal(authorize?.status, 302, 'the provider approves and redirects');
    t.match(authorize?.location, new RegExp(`^${roost.url}/login/callback\\?oauth_token=[A-Za-z0-9]{40}&oauth_verifier=[A-Za-z0-9]{40}$`));
    t.equal(callback?.status, 302, `the callback redirects (got ${callback?.status}: ${callback?.body})`);
    t.match(callback?.location, /^http:\/\/app\.test\/cb#access_token=/);
    t.notOk(browser.cookies.has('roost_flow'), 'the callback clears the flow cookie');
    const answer = fragmentOf(callback?.location ?? null);
    t.equal(answer.get('token_type'), 'Bearer');
    const token = answer.get('access_token') ?? '';

    const { payload, protectedHeader } = await verifyWithJose(token);
    t.same(protectedHeader, { alg: 'ES256', kid: protectedHeader.kid, typ: 'at+jwt' });
    t.type(protectedHeader.kid, 'string');
    t.match(payload, { iss: roost.url, twitter_id: TWITTER_ID, screen_name: 'oauthlib_interop', name: 'Interop User' });
    t.equal(payload.picture, 'https://pbs.twimg.com/profile_images/1/interop_normal.png');

    const python = await verifyWithPyJwt(token);
    t.equal(python.code, 0, `PyJWT verifies the token (stderr: ${python.stderr})`);
    const claims = JSON.parse(python.stdout || '{}') as Record<string, unknown>;
    t.equal(claims.sub, payload.sub, 'PyJWT reads the same sub');
    t.equal(claims.iss, roost.url, 'PyJWT checked the issuer');
    t.equal(claims.twitter_id, TWITTER_ID, 'the Twitter id survives as a string, not a rounded number');
    t.same(claims, payload, 'PyJWT and jose read identical claims');

    const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    t.equal(me.status, 200);
    t.match(await me.json(), { id: payload.sub, twitter_id: TWITTER_ID, screen_name: 'oauthlib_interop', email: 'interop@example.test' });
  });

  t.test('PyJWT refuses a token changed by one character, and a foreign issuer', async (t) => {
    const token = fragmentOf((await signIn(roost)).callback?.location ?? null).get('access_token') ?? '';
    const control = await verifyWithPyJwt(token);
    t.equal(control.code, 0, `the untouched token verifies (stderr: ${control.stderr})`);

    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flip = (s: string, at: number) => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
    // Middle characters: every bit of them counts (the last base64url character of a segment may carry padding bits).
    const tampered = {
      payload: `${header}.${flip(payload, Math.floor(payload.length / 2))}.${signature}`,
      signature: `${header}.${payload}.${flip(signature, Math.floor(signature.length / 2))}`,
    };
    for (const [part, bad] of Object.entries(tampered)) {
      t.not(bad, token);
      t.equal(bad.length, token.length);
      const result = await verifyWithPyJwt(bad);
      t.equal(result.code, 1, `PyJWT refuses a token with one changed ${part} character`);
      t.match(result.stderr, /InvalidSignatureError/, `the ${part} change fails the signature check`);
      t.equal(result.stdout, '', 'no claims are printed');
      await t.rejects(verifyWithJose(bad), `jose refuses it too (${part})`);
    }

    const foreign = await verifyWithPyJwt(token, 'https://issuer.invalid');
    t.equal(foreign.code, 1, 'PyJWT refuses the token for another issuer');
    t.match(foreign.stderr, /InvalidIssuerError/);
  });

  t.test('the provider is strict (signed directly with the oauth-1.0a package)', async (t) => {
    const sign = signer({ key: CONSUMER_KEY, secret: CONSUMER_SECRET });
    const requestTokenUrl = `${provider.url}/oauth/request_token`;
    const callbackUrl = 'http://127.0.0.1:9/login/callback';
    const refused = (answer: Awaited<ReturnType<typeof call>>, reason: RegExp, what: string) => {
      t.equal(answer.status, 401, `${what}: 401`);
      t.same(parseJson(answer.body), TWITTER_ERROR_32, `${what}: Twitter's error 32`);
      t.match(answer.reason, reason, `${what}: refused for the expected reason`);
    };

    const good = sign('POST', requestTokenUrl, { oauth_callback: callbackUrl });
    const first = await call('POST', requestTokenUrl, good);
    t.equal(first.status, 200, `a well-signed request succeeds (${first.body})`);
    const requestToken = new URLSearchParams(first.body);
    t.equal(requestToken.get('oauth_callback_confirmed'), 'true');
    refused(await call('POST', requestTokenUrl, good), /^nonce_replayed$/, 'the same request again');

    const wrongSecret = signer({ key: CONSUMER_KEY, secret: `${CONSUMER_SECRET}-wrong` });
    refused(await call('POST', requestTokenUrl, wrongSecret('POST', requestTokenUrl, { oauth_callback: callbackUrl })), /^signature$/, 'wrong consumer secret');
    const wrongKey = signer({ key: 'another-consumer-key', secret: CONSUMER_SECRET });
    refused(await call('POST', requestTokenUrl, wrongKey('POST', requestTokenUrl, { oauth_callback: callbackUrl })), /^client_key$/, 'unknown consumer key');
    refused(await call('POST', requestTokenUrl, sign('POST', requestTokenUrl, { oauth_callback: 'http://evil.test/login/callback' })), /^callback$/, 'unregistered callback');
    refused(await call('POST', requestTokenUrl, sign('POST', requestTokenUrl, { oauth_callback: 'oob' })), /^callback$/, 'out-of-band callback');
    const sha256 = signer({ key: CONSUMER_KEY, secret: CONSUMER_SECRET }, 'HMAC-SHA256');
    refused(await call('POST', requestTokenUrl, sha256('POST', requestTokenUrl, { oauth_callback: callbackUrl })), /invalid_signature_method/, 'HMAC-SHA256 instead of HMAC-SHA1');
    // Signed for another URL than the one requested: the base string covers the request URI.
    refused(await call('POST', requestTokenUrl, sign('POST', `${provider.url}/oauth/request_token?x=1`, { oauth_callback: callbackUrl })), /^signature$/, 'signature over another URI');

    // Authorize the first request token, then exchange it.
    const token = { key: requestToken.get('oauth_token') ?? '', secret: requestToken.get('oauth_token_secret') ?? '' };
    const accessTokenUrl = `${provider.url}/oauth/access_token`;
    refused(await call('POST', accessTokenUrl, sign('POST', accessTokenUrl, { oauth_verifier: 'v'.repeat(40) }, token)), /^verifier$/, 'a verifier before approval');
    const approval = await fetch(`${provider.url}/oauth/authenticate?oauth_token=${token.key}`, { redirect: 'manual' });
    t.equal(approval.status, 302);
    const back = new URL(approval.headers.get('location') ?? 'http://invalid/');
    t.equal(`${back.origin}${back.pathname}`, callbackUrl, 'the provider sends the browser to the stored callback');
    t.equal(back.searchParams.get('oauth_token'), token.key);
    const verifier = back.searchParams.get('oauth_verifier') ?? '';
    const again = await fetch(`${provider.url}/oauth/authenticate?oauth_token=${token.key}`, { redirect: 'manual' });
    t.equal(again.status, 401, 'a request token is approved once');

    refused(await call('POST', accessTokenUrl, sign('POST', accessTokenUrl, { oauth_verifier: `${verifier.slice(0, -1)}${verifier.endsWith('A') ? 'B' : 'A'}` }, token)), /^verifier$/, 'a wrong verifier');
    refused(await call('POST', accessTokenUrl, sign('POST', accessTokenUrl, { oauth_verifier: verifier }, { key: token.key, secret: 'not-the-token-secret' })), /^signature$/, 'a wrong request token secret');
    const exchange = await call('POST', accessTokenUrl, sign('POST', accessTokenUrl, { oauth_verifier: verifier }, token));
    t.equal(exchange.status, 200, `the right verifier is exchanged (${exchange.body})`);
    const access = new URLSearchParams(exchange.body);
    t.equal(access.get('user_id'), TWITTER_ID);
    t.equal(access.get('screen_name'), 'oauthlib_interop');
    refused(await call('POST', accessTokenUrl, sign('POST', accessTokenUrl, { oauth_verifier: verifier }, token)), /^request_token_unknown/, 'the same request token twice');

    const accessToken = { key: access.get('oauth_token') ?? '', secret: access.get('oauth_token_secret') ?? '' };
    const profileUrl = `${provider.url}/1.1/account/verify_credentials.json?include_email=true&skip_status=true`;
    const profile = await call('GET', profileUrl, sign('GET', profileUrl, {}, accessToken));
    t.equal(profile.status, 200, `the access token reads the profile (${profile.body})`);
    t.match(parseJson(profile.body), { id_str: TWITTER_ID, screen_name: 'oauthlib_interop' });
    refused(await call('GET', profileUrl, sign('GET', profileUrl, {}, token)), /access_token_unknown/, 'the request token in place of the access token');
    refused(await call('GET', profileUrl, sign('GET', profileUrl.replace('skip_status=true', 'skip_status=false'), {}, accessToken)), /signature/, 'a query changed after signing');
    refused(await call('GET', profileUrl, wrongKey('GET', profileUrl, {}, accessToken)), /client_key|access_token_not_owned/, 'another consumer with the same access token');
  });

  t.test('roost with a wrong consumer secret: the provider refuses it, roost answers 502 twitter_auth_failed', async (t) => {
    const misconfigured = await startRoost(t, { providerUrl: provider.url, env: { TWITTER_CONSUMER_SECRET: `${CONSUMER_SECRET}-wrong` } });
    const before = provider.stderr().length;
    const login = await new Browser().get(`${misconfigured.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/cb`)}`);
    t.equal(login.status, 502);
    t.equal(login.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.match(parseJson(login.body), { code: 'twitter_auth_failed', status: 502, type: 'urn:roost:problem:twitter_auth_failed', twitter_error: 32, detail: /Twitter error 32.*TWITTER_CONSUMER_SECRET/ });
    t.equal(login.location, null, 'no redirect to the provider');
    t.match(provider.stderr().slice(before), /refused POST \/oauth\/request_token: signature\n/, 'the provider refused the signature');

    // The same provider still serves the correctly configured roost.
    const ok = await signIn(roost);
    t.equal(ok.callback?.status, 302);
    t.match(ok.callback?.location, /#access_token=/);
  });
}
