// Key rotation seen from outside: two roost replicas on one database, sibling
// services verifying with jose's createRemoteJWKSet and its cache, two
// rotations and a revocation, all over real HTTP.
//
// Time: roost's key lifecycle, token expiry and jose's JWKS cache must share
// one clock that the test moves forward by minutes. roost takes it as its
// injected clock; jose reads Date.now, so each jose call runs with Date.now
// on that clock (the sandbox Twitter and OAuth timestamps stay on real time).
import { SignJWT, createRemoteJWKSet, customFetch, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import t from 'tap';
import { runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent } from '../helpers/flow.js';
import { createTestSchema, startRoost, type Roost } from '../helpers/roost.js';

const realNow = Date.now.bind(Date);
let offset = 0;
const now = () => realNow() + offset;

/** Runs a jose call with Date.now on the test clock. */
async function onTestClock<T>(work: () => Promise<T>): Promise<T> {
  Date.now = now;
  try {
    return await work();
  } finally {
    Date.now = realNow;
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const env = { JWKS_MAX_AGE: '300', KEY_REFRESH_INTERVAL: '5', ACCESS_TOKEN_TTL: '900' };
const a = await startRoost(t, { env, now });
// A second replica: same database, same ENCRYPTION_KEY, same issuer (PUBLIC_URL).
const b = await startRoost(t, {
  now,
  databaseUrl: a.config.databaseUrl,
  env: { ...env, ENCRYPTION_KEY: a.config.encryptionKey!.toString('hex'), PUBLIC_URL: a.url },
});
const replicas = [a, b];
const policy = keyPolicy(a.config);
const commands: KeysContext = { db: a.deps.db, encryptionKey: a.deps.encryptionKeys, policy, alg: a.config.jwtAlg, now };

/** Time passes: the clock moves, and each replica's refresh timer fires (as it would every KEY_REFRESH_INTERVAL). */
async function advance(ms: number): Promise<void> {
  offset += ms;
  await Promise.all(replicas.map((replica) => replica.deps.keys.refresh()));
}

/** Where this replica listens; a load balancer behind PUBLIC_URL would pick it. */
const origin = (roost: Roost) => `http://127.0.0.1:${roost.config.port}`;

/** A browser behind the load balancer: what it sends to a replica arrives as addressed to PUBLIC_URL. */
class BalancedBrowser extends Browser {
  override request(url: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    if (replicas.some((replica) => url.startsWith(origin(replica)))) headers.set('x-forwarded-host', new URL(a.url).host);
    return super.request(url, { ...init, headers });
  }
}

/** A whole sign-in on one replica; the callback (addressed to PUBLIC_URL) is routed to that replica too. */
async function tokenFrom(roost: Roost): Promise<string> {
  const browser = new BalancedBrowser();
  const { callbackUrl } = await consent(browser, { ...roost, url: origin(roost) });
  const callback = await browser.get(callbackUrl.replace(roost.config.publicUrl, origin(roost)));
  const token = fragmentOf(callback.location).get('access_token');
  if (!token) throw new Error(`no token: ${callback.status} ${callback.body}`);
  return token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const expOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number }).exp * 1000;

async function jwks(roost: Roost, headers: Record<string, string> = {}) {
  const response = await fetch(`${origin(roost)}/.well-known/jwks.json`, { headers });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, kids: body ? (JSON.parse(body) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid) : [] };
}

/** A load balancer in front of the replicas: each JWKS fetch goes to the next one. */
function roundRobinFetch(): typeof fetch {
  let turn = 0;
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = new URL(origin(replicas[turn++ % replicas.length]!));
    url.host = target.host;
    return fetch(url, init);
  };
}

t.test('jose verifiers keep verifying every token through two rotations; both replicas sign with the same kid', async (t) => {
  const jwksUrl = new URL(`${a.url}/.well-known/jwks.json`);
  const verifiers = {
    // Honours Cache-Control max-age exactly and never refetches early, even for an unknown kid:
    // only publishing keys ahead of use keeps it working.
    strict: createRemoteJWKSet(jwksUrl, { cacheMaxAge: 300 * SECOND, cooldownDuration: 24 * 60 * MINUTE, [customFetch]: roundRobinFetch() }),
    // jose's defaults: a 10-minute cache, refetch on an unknown kid at most every 30 s.
    defaults: createRemoteJWKSet(jwksUrl, { [customFetch]: roundRobinFetch() }),
  };
  const verify = (token: string, keys: (typeof verifiers)['strict']) =>
    onTestClock(() => jwtVerify(token, keys, { issuer: a.url, algorithms: ['ES256'], typ: 'at+jwt', currentDate: new Date(now()) }));

  const issued: string[] = [];
  const failures: string[] = [];
  const signingKids: string[] = [];
  let meChecks = 0;
  const step = async (label: string) => {
    const fromA = await tokenFrom(a);
    const fromB = await tokenFrom(b);
    t.equal(kidOf(fromA), kidOf(fromB), `${label}: both replicas sign with the same kid`);
    if (signingKids.at(-1) !== kidOf(fromA)) signingKids.push(kidOf(fromA));
    issued.push(fromA, fromB);
    const [jwksA, jwksB] = await Promise.all([jwks(a), jwks(b)]);
    t.equal(jwksA.headers.get('etag'), jwksB.headers.get('etag'), `${label}: both replicas publish the same key set`);
    for (const token of issued.filter((token) => expOf(token) > now())) {
      for (const [name, keys] of Object.entries(verifiers)) {
        await verify(token, keys).catch((error: Error) => failures.push(`${label}: ${name} refused a token of ${kidOf(token)}: ${error.message}`));
      }
    }
    // /me on either replica accepts the oldest token that has not expired.
    const oldest = issued.find((token) => expOf(token) > now())!;
    const me = await fetch(`${origin(replicas[meChecks++ % 2]!)}/me`, { headers: { authorization: `Bearer ${oldest}` } });
    if (me.status !== 200) failures.push(`${label}: /me answered ${me.status} for a token of ${kidOf(oldest)}`);
  };

  await step('start');
  const rotations = [0, 10 * MINUTE];
  let elapsed = 0;
  while (elapsed <= 40 * MINUTE) {
    if (rotations.includes(elapsed)) {
      const rotated = await runKeysCommand(commands, { name: 'rotate', alg: undefined });
      t.match(rotated.output, /^published \S+ \(ES256\) as the next key/);
      await advance(0);
      await step(`rotation at ${elapsed / MINUTE} min`);
    }
    await advance(MINUTE);
    elapsed += MINUTE;
    await step(`${elapsed / MINUTE} min`);
  }

  t.same(failures, [], 'no verification failed');
  t.equal(signingKids.length, 3, 'three keys signed in turn');
  t.ok(issued.length > 80, `${issued.length} tokens verified repeatedly`);
  const last = await jwks(a);
  t.same(last.kids, [signingKids[2]], 'after both rotations only the last key is published: every earlier token has expired');
});

t.test('conditional GET: ETag, 304 Not Modified, a new ETag when the set changes', async (t) => {
  const first = await jwks(a);
  t.equal(first.status, 200);
  t.equal(first.headers.get('cache-control'), 'public, max-age=300');
  t.equal(first.headers.get('content-type'), 'application/json; charset=utf-8');
  const etag = first.headers.get('etag')!;
  t.match(etag, /^"[A-Za-z0-9_-]{32}"$/);

  for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await jwks(b, { 'if-none-match': header });
    t.equal(again.status, 304, `If-None-Match: ${header} (on the other replica)`);
    t.equal(again.body, '', 'no body');
    t.equal(again.headers.get('etag'), etag, 'the 304 names the ETag');
    t.equal(again.headers.get('cache-control'), 'public, max-age=300', 'and refreshes the cache lifetime');
  }
  for (const header of ['"other"', etag.toLowerCase() === etag ? '"x"' : etag.toLowerCase(), etag.slice(1, -1), `${'"x", '.repeat(1000)}${etag}`]) {
    const full = await jwks(a, { 'if-none-match': header });
    t.equal(full.status, 200, `If-None-Match: ${header.slice(0, 40)}`);
    t.equal(full.body, first.body);
  }
  const head = await fetch(`${a.url}/.well-known/jwks.json`, { method: 'HEAD', headers: { 'if-none-match': etag } });
  t.equal(head.status, 304, 'HEAD answers the same');

  await runKeysCommand(commands, { name: 'rotate', alg: 'EdDSA' });
  await advance(0);
  const changed = await jwks(a, { 'if-none-match': etag });
  t.equal(changed.status, 200, 'the old ETag no longer matches once the next key is published');
  t.not(changed.headers.get('etag'), etag);
  t.equal(changed.kids.length, first.kids.length + 1);
  const discovery = (await (await fetch(`${origin(b)}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.same(discovery.id_token_signing_alg_values_supported, ['ES256', 'EdDSA'], 'discovery names the algorithms of the published keys');

  for (const method of ['POST', 'PUT', 'DELETE']) {
    const refused = await fetch(`${a.url}/.well-known/jwks.json`, { method });
    t.equal(refused.status, 404, `${method} is not served`);
    t.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  }
  await advance(policy.publishDelayMs);
});

t.test('a revoked key: its tokens are refused by /me and its kid leaves the JWKS, on every replica', async (t) => {
  const before = await tokenFrom(a);
  const kid = kidOf(before);
  for (const replica of replicas) {
    t.equal((await fetch(`${origin(replica)}/me`, { headers: { authorization: `Bearer ${before}` } })).status, 200, 'valid before');
  }
  const revoked = await runKeysCommand(commands, { name: 'revoke', kid });
  t.match(revoked.output, `revoked ${kid} (was current)`);
  await advance(0);
  for (const replica of replicas) {
    const me = await fetch(`${origin(replica)}/me`, { headers: { authorization: `Bearer ${before}` } });
    t.equal(me.status, 401, 'refused after');
    t.match(await me.json(), { code: 'invalid_token' });
    t.notOk((await jwks(replica)).kids.includes(kid), 'gone from the JWKS');
  }
  const after = await tokenFrom(b);
  t.not(kidOf(after), kid, 'a new key signs');
  t.equal((await fetch(`${a.url}/me`, { headers: { authorization: `Bearer ${after}` } })).status, 200);
});

t.test('/me never trusts keys named in the token (RFC 8725 §3.10): jwk, jku and x5u headers', async (t) => {
  const good = await tokenFrom(a);
  const claims = JSON.parse(Buffer.from(good.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const attacker = { ...(await exportJWK(publicKey)), kid: kidOf(good), alg: 'ES256', use: 'sig' };
  const headers = [
    { alg: 'ES256', typ: 'at+jwt', kid: kidOf(good), jwk: attacker },
    { alg: 'ES256', typ: 'at+jwt', jwk: attacker },
    { alg: 'ES256', typ: 'at+jwt', kid: kidOf(good), jku: 'http://127.0.0.1:9/jwks.json' },
    { alg: 'ES256', typ: 'at+jwt', kid: kidOf(good), x5u: 'http://127.0.0.1:9/cert.pem' },
  ];
  for (const header of headers) {
    const forged = await new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
    const me = await fetch(`${a.url}/me`, { headers: { authorization: `Bearer ${forged}` } });
    t.equal(me.status, 401, Object.keys(header).join(', '));
  }
});

t.test('the refresh timer picks up a change by itself', async (t) => {
  const quick = await startRoost(t, {
    databaseUrl: a.config.databaseUrl,
    now,
    env: { ...env, KEY_REFRESH_INTERVAL: '1', ENCRYPTION_KEY: a.config.encryptionKey!.toString('hex') },
  });
  const token = await tokenFrom(quick);
  await runKeysCommand(commands, { name: 'revoke', kid: kidOf(token) });
  const started = performance.now();
  let status = 200;
  while (status === 200 && performance.now() - started < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await fetch(`${quick.url}/me`, { headers: { authorization: `Bearer ${token}` } })).status;
  }
  t.equal(status, 401, `refused within ${Math.round(performance.now() - started)} ms, without a restart`);
});

t.test('two instances starting at once on an empty database create exactly one key', async (t) => {
  const databaseUrl = await createTestSchema(t);
  const shared = { ENCRYPTION_KEY: a.config.encryptionKey!.toString('hex') };
  // Both apply the migrations and look for a signing key at the same moment.
  const [first, second] = await Promise.all([startRoost(t, { databaseUrl, env: shared }), startRoost(t, { databaseUrl, env: shared })]);
  const rows = await first.deps.db.selectFrom('signing_keys').select(['kid', 'state']).execute();
  t.equal(rows.length, 1);
  t.equal(rows[0]?.state, 'current');
  t.equal(first.deps.signingKey().kid, rows[0]?.kid);
  t.equal(second.deps.signingKey().kid, rows[0]?.kid);
  t.same((await jwks(first)).kids, (await jwks(second)).kids);
});
