// Independent verifiers across a rotation: PyJWT (Python, not roost's code)
// fetching roost's JWKS over HTTP verifies ES256, EdDSA and RS256 tokens
// before, during and after a key rotation, with a cache that honours
// Cache-Control and never refetches early (test/interop/caching_verifier.py).
//
// roost's clock starts an hour in the past and moves forward from there, so
// PyJWT, which checks exp and iat on the real clock, accepts every token;
// the verifier's cache runs on roost's clock, passed with each token.
// Needs Debian's /usr/bin/python3 with python3-jwt and python3-cryptography.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeProtectedHeader } from 'jose';
import t from 'tap';
import { runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { SIGNING_ALGS, type SigningAlg } from '../../src/keys/signing-keys.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent, signIn } from '../helpers/flow.js';
import { startRoost, type Roost } from '../helpers/roost.js';

const PYTHON = '/usr/bin/python3';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CACHING_VERIFIER = path.join(HERE, '..', 'interop', 'caching_verifier.py');
const VERIFY_JWT = path.join(HERE, '..', 'interop', 'verify_jwt.py');
const MINUTE = 60_000;
const NEVER_EARLY = String(24 * 3600);

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Answer {
  readonly ok: boolean;
  readonly kid?: string;
  readonly sub?: string;
  readonly error?: string;
  readonly fetches: number;
}

interface PythonVerifier {
  verify(token: string, now: number): Promise<Answer>;
}

/** Starts caching_verifier.py; one line in, one line out. */
function startVerifier(t: Teardown, roost: Roost, refetchInterval: string, algorithms: readonly SigningAlg[]): PythonVerifier {
  const args = [CACHING_VERIFIER, `${roost.url}/.well-known/jwks.json`, roost.url, refetchInterval, ...algorithms.flatMap((alg) => ['--alg', alg])];
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.stdin.end();
    await exited;
  });
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  child.once('exit', (code) => {
    for (const resolve of waiting.splice(0)) resolve(JSON.stringify({ ok: false, error: `the verifier exited with ${code}: ${stderr}`, fetches: -1 }));
  });
  return {
    verify: (token, now) =>
      new Promise((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as Answer));
        child.stdin.write(`${JSON.stringify({ token, now })}\n`);
      }),
  };
}

function verifyOnce(roost: Roost, token: string, algorithms: readonly SigningAlg[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [VERIFY_JWT, ...algorithms.flatMap((alg) => ['--alg', alg]), `${roost.url}/.well-known/jwks.json`, roost.url, token];
  return new Promise((resolve) => {
    execFile(PYTHON, args, { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

async function tokenFrom(roost: Roost): Promise<string> {
  const callback = await signIn(new Browser(), roost);
  const token = fragmentOf(callback.location).get('access_token');
  if (!token) throw new Error(`no token: ${callback.status} ${callback.body}`);
  return token;
}

/** A sign-in on a replica behind PUBLIC_URL (another replica's address): what the browser sends it arrives as addressed to PUBLIC_URL. */
async function tokenFromReplica(replica: Roost, publicUrl: string): Promise<string> {
  const origin = `http://127.0.0.1:${replica.config.port}`;
  class BehindPublicUrl extends Browser {
    override request(url: string, init: RequestInit = {}) {
      const headers = new Headers(init.headers);
      if (url.startsWith(origin)) headers.set('x-forwarded-host', new URL(publicUrl).host);
      return super.request(url, { ...init, headers });
    }
  }
  const browser = new BehindPublicUrl();
  const { callbackUrl } = await consent(browser, { ...replica, url: origin });
  const callback = await browser.get(callbackUrl.replace(publicUrl, origin));
  const token = fragmentOf(callback.location).get('access_token');
  if (!token) throw new Error(`no token: ${callback.status} ${callback.body}`);
  return token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const algOf = (token: string) => decodeProtectedHeader(token).alg as string;

/** A roost on its own clock, an hour behind, that the test moves forward. */
async function startBehind(t: Teardown, env: Record<string, string>) {
  let offset = -60 * MINUTE;
  const now = () => Date.now() + offset;
  const roost = await startRoost(t, { now, env: { ACCESS_TOKEN_TTL: '7200', JWKS_MAX_AGE: '300', ...env } });
  const commands: KeysContext = { db: roost.deps.db, encryptionKey: roost.deps.encryptionKeys, policy: keyPolicy(roost.config), alg: roost.config.jwtAlg, now };
  const advance = async (ms: number) => {
    offset += ms;
    await roost.deps.keys.refresh();
  };
  return { roost, now, commands, advance };
}

for (const alg of SIGNING_ALGS) {
  t.test(`${alg}: PyJWT with a JWKS cache verifies every token across a rotation`, async (t) => {
    const { roost, now, commands, advance } = await startBehind(t, { JWT_ALG: alg });
    const verifier = startVerifier(t, roost, NEVER_EARLY, [alg]);
    const tokens: string[] = [];
    const failures: string[] = [];
    let verifications = 0;
    const step = async (label: string) => {
      tokens.push(await tokenFrom(roost));
      for (const token of tokens) {
        verifications++;
        const answer = await verifier.verify(token, now());
        if (!answer.ok || answer.kid !== kidOf(token)) failures.push(`${label}: ${answer.error ?? answer.kid}`);
      }
    };

    await step('before');
    t.equal(algOf(tokens[0]!), alg, `roost signs with ${alg}`);
    t.match((await runKeysCommand(commands, { name: 'rotate', alg: undefined })).output, `(${alg}) as the next key`);
    for (let minute = 0; minute <= 14; minute++) {
      await step(`${minute} min after the rotation started`);
      await advance(MINUTE);
    }
    t.same(failures, [], 'no token was refused');
    const kids = [...new Set(tokens.map(kidOf))];
    t.equal(kids.length, 2, 'tokens of both keys were verified');
    t.ok(tokens.every((token) => algOf(token) === alg));
    const last = await verifier.verify(tokens.at(-1)!, now());
    t.ok(last.fetches >= 2 && last.fetches <= 4, `the cache fetched the JWKS ${last.fetches} times for ${verifications} verifications`);

    // The plain one-shot verifier agrees, for the oldest and the newest token.
    for (const token of [tokens[0]!, tokens.at(-1)!]) {
      const once = await verifyOnce(roost, token, [alg]);
      t.equal(once.code, 0, `verify_jwt.py accepts a token of ${kidOf(token)} (${once.stderr})`);
    }
    const other = SIGNING_ALGS.find((candidate) => candidate !== alg)!;
    const pinned = await verifyOnce(roost, tokens[0]!, [other]);
    t.equal(pinned.code, 1, `a verifier pinned to ${other} refuses a ${alg} token`);
    t.match(pinned.stderr, /InvalidAlgorithmError/);
  });
}

t.test('switching JWT_ALG from ES256 to EdDSA, its key published ahead by rotate --alg, with a verifier that accepts both', async (t) => {
  const { roost, now, commands, advance } = await startBehind(t, { JWT_ALG: 'ES256' });
  const both = startVerifier(t, roost, NEVER_EARLY, ['ES256', 'EdDSA']);
  const before = await tokenFrom(roost);
  t.equal((await both.verify(before, now())).ok, true);
  t.match((await runKeysCommand(commands, { name: 'rotate', alg: 'EdDSA' })).output, /\(EdDSA\) ahead as the next key/);
  await advance(commands.policy.publishDelayMs);
  // A replica with the new JWT_ALG (a rolling deploy): same database, ENCRYPTION_KEY and issuer.
  const switched = await startRoost(t, {
    now,
    databaseUrl: roost.config.databaseUrl,
    env: { ACCESS_TOKEN_TTL: '7200', JWKS_MAX_AGE: '300', JWT_ALG: 'EdDSA', ENCRYPTION_KEY: roost.config.encryptionKey!.toString('hex'), PUBLIC_URL: roost.url },
  });
  const after = await tokenFromReplica(switched, roost.url);
  t.equal(algOf(after), 'EdDSA');
  t.match(await both.verify(before, now()), { ok: true }, 'the ES256 token still verifies');
  t.match(await both.verify(after, now()), { ok: true, fetches: 2 }, 'the EdDSA token verifies, from the JWKS fetched once its max-age passed');
  t.match(await both.verify(await tokenFrom(roost), now()), { ok: true }, 'and so do the ES256 tokens of the replica not yet switched');
  const discovery = (await (await fetch(`http://127.0.0.1:${switched.config.port}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.same(discovery.id_token_signing_alg_values_supported, ['EdDSA', 'ES256']);
});

t.test('the strict cache does refuse a kid it has not seen: what publishing ahead avoids', async (t) => {
  const { roost, now, commands, advance } = await startBehind(t, {});
  const strict = startVerifier(t, roost, NEVER_EARLY, ['ES256']);
  const first = await tokenFrom(roost);
  t.match(await strict.verify(first, now()), { ok: true, fetches: 1 });
  // A compromise: the current key is revoked with no next key published, so a new key signs at once.
  await runKeysCommand(commands, { name: 'revoke', kid: kidOf(first) });
  await advance(0);
  const replacement = await tokenFrom(roost);
  t.match(await strict.verify(replacement, now()), { ok: false, error: /LookupError: no cached JWKS key has kid/ }, 'refused while the cache is fresh');
  t.match(await strict.verify(first, now()), { ok: true }, 'and the revoked key still verifies from its stale cache');
  await advance(5 * MINUTE);
  t.match(await strict.verify(replacement, now()), { ok: true, fetches: 2 }, 'accepted once max-age has passed');
  t.match(await strict.verify(first, now()), { ok: false, error: /no cached JWKS key/ }, 'and the revoked key is refused');
  // A verifier that refetches on an unknown kid (rate-limited to once a minute) recovers at once.
  const eager = startVerifier(t, roost, '60', ['ES256']);
  t.match(await eager.verify(replacement, now()), { ok: true, fetches: 1 });
});
