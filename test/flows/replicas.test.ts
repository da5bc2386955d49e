// Several roost processes on one Postgres schema and one Redis prefix, as
// replicas behind a load balancer: they migrate a fresh schema together,
// agree on one signing key, and any of them finishes a sign-in another began,
// under each protocol roost speaks with X.
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import pg from 'pg';
import t, { type Test } from 'tap';
import { Browser, fragmentOf, readConsentForm } from '../helpers/browser.js';
import { spawnRoost } from '../helpers/process.js';
import { APP_ORIGIN, CLIENT_ID, CLIENT_SECRET, CONSUMER_KEY, CONSUMER_SECRET, createTestSchema, freePort, PROTOCOLS, TEST_REDIS_URL, xKeys } from '../helpers/roost.js';
import { migrations } from '../../migrations/index.js';
import { startSandboxServer } from '../../src/sandbox/provider.js';
import { createDefaultSandboxUsers } from '../../src/sandbox/users.js';
import type { UpstreamProtocol } from '../../src/twitter/upstream.js';

// What the load balancer answers to; the test plays the balancer and picks a replica per request.
const PUBLIC_URL = 'http://auth.roost.test';
/** What the balancer adds to each request it passes on: the name the browser asked for. */
const BALANCED = { 'x-forwarded-host': new URL(PUBLIC_URL).host };
const RETURN_TO = `${APP_ORIGIN}/signed-in`;
const users = createDefaultSandboxUsers();
// Both protocols' apps, with the one callback every replica sends: PUBLIC_URL's.
const sandbox = await startSandboxServer({
  consumerKey: CONSUMER_KEY,
  consumerSecret: CONSUMER_SECRET,
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  allowedCallbacks: [`${PUBLIC_URL}/login/callback`],
  users,
});
t.teardown(() => sandbox.close());

function replicaEnv(protocol: UpstreamProtocol, databaseUrl: string, shared: Record<string, string>) {
  return {
    HOST: '127.0.0.1',
    PUBLIC_URL,
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    ...xKeys(protocol, sandbox.url),
    RETURN_TO_URLS: RETURN_TO,
    ...shared,
  };
}

const sharedSecrets = () => ({
  REDIS_KEY_PREFIX: `roost-test:${randomBytes(6).toString('hex')}:`,
  COOKIE_SECRET: randomBytes(32).toString('hex'),
  ENCRYPTION_KEY: randomBytes(32).toString('hex'),
});

async function query<T extends pg.QueryResultRow>(databaseUrl: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Starts a sign-in on one replica and finishes it on another; returns the token and the callback URL used. */
async function signInAcross(start: string, finish: string, userIndex: number) {
  const browser = new Browser();
  const login = await browser.get(`${start}/login?return_to=${encodeURIComponent(RETURN_TO)}`, BALANCED);
  if (login.status !== 302 || !login.location) throw new Error(`/login answered ${login.status}: ${login.body}`);
  const form = readConsentForm((await browser.get(login.location)).body);
  const decision = await browser.postForm(new URL(form.action ?? '', login.location).href, {
    ...form.hidden,
    user_id: users[userIndex]?.id_str as string,
    action: 'approve',
  });
  const callback = new URL(decision.location as string);
  if (callback.origin !== PUBLIC_URL) throw new Error(`the provider sent the browser to ${callback.href}`);
  const onReplica = `${finish}${callback.pathname}${callback.search}`;
  const done = await browser.get(onReplica);
  return { done, token: fragmentOf(done.location).get('access_token'), callbackUrl: onReplica, browser };
}

for (const protocol of PROTOCOLS) t.test(`${protocol}: two replicas: one migration run, one key, a flow started on one finishes on the other`, (t) => twoReplicas(t, protocol));

async function twoReplicas(t: Test, protocol: UpstreamProtocol) {
  const databaseUrl = await createTestSchema(t);
  const shared = sharedSecrets();
  const ports = [await freePort(), await freePort()];
  const replicas = ports.map((port) => spawnRoost(t, { ...replicaEnv(protocol, databaseUrl, shared), PORT: String(port) }));
  const [a, b] = ports.map((port) => `http://127.0.0.1:${port}`) as [string, string];
  // Started together on a schema that has no tables yet.
  await Promise.all(replicas.map((replica) => replica.ready()));

  const migrated = replicas.filter((replica) => replica.logs().some((line) => line.msg === 'migrations applied'));
  t.equal(migrated.length, 1, 'exactly one replica applied the migrations; the other waited for the lock');
  for (const replica of replicas) {
    t.ok(replica.logs().some((line) => typeof line.startupMs === 'number'), 'start-up time is logged');
  }
  t.same((await query<{ name: string }>(databaseUrl, 'select name from kysely_migration order by name')).map((row) => row.name), Object.keys(migrations), 'each migration applied once');
  t.equal((await query(databaseUrl, "select kid from signing_keys where state = 'current'")).length, 1, 'one current signing key');

  const jwksA = await (await fetch(`${a}/.well-known/jwks.json`)).json();
  const jwksB = await (await fetch(`${b}/.well-known/jwks.json`)).json();
  t.same(jwksA, jwksB, 'both publish the same JWKS');

  for (const url of [a, b]) {
    const ready = await fetch(`${url}/readyz`);
    t.equal(ready.status, 200, `${url} is ready`);
    await ready.arrayBuffer();
  }

  // Asked for by a replica's own address rather than through the balancer, /login first moves to PUBLIC_URL.
  const direct = await new Browser().get(`${a}/login?return_to=${encodeURIComponent(RETURN_TO)}`);
  t.equal(direct.status, 302);
  t.equal(direct.location, `${PUBLIC_URL}/login?return_to=${encodeURIComponent(RETURN_TO)}`, 'a /login not on PUBLIC_URL is sent there');
  t.notOk(direct.headers.get('set-cookie'), 'without starting a flow there');

  const first = await signInAcross(a, b, 0);
  // What X sent back names the flow the way the protocol does: by request token, or by the state roost sent.
  t.same([...new URL(first.callbackUrl).searchParams.keys()], protocol === 'oauth1' ? ['oauth_token', 'oauth_verifier'] : ['code', 'state']);
  t.equal(first.done.status, 302);
  t.match(first.done.location, `${RETURN_TO}#access_token=`);
  const me = await fetch(`${a}/me`, { headers: { authorization: `Bearer ${first.token}` } });
  t.equal(me.status, 200, 'a token issued by B is accepted by A');
  t.match(await me.json(), { twitter_id: users[0]?.id_str });
  const { payload } = await jwtVerify(first.token as string, createRemoteJWKSet(new URL(`${a}/.well-known/jwks.json`)), { issuer: PUBLIC_URL, algorithms: ['ES256'] });
  t.equal(payload.twitter_id, users[0]?.id_str, "B's token verifies against A's JWKS");

  const replayed = await first.browser.get(first.callbackUrl.replace(b, a));
  t.equal(replayed.status, 400, 'the callback finished on B cannot be replayed on A');
  t.match(JSON.parse(replayed.body), { code: 'flow_not_found' });

  const second = await signInAcross(b, a, 1);
  t.equal(second.done.status, 302);
  const meOnB = await fetch(`${b}/me`, { headers: { authorization: `Bearer ${second.token}` } });
  t.equal(meOnB.status, 200, 'a token issued by A is accepted by B');
  t.match(await meOnB.json(), { twitter_id: users[1]?.id_str });
  const stored = await query<{ twitter_protocol: string; has_secret: boolean }>(
    databaseUrl,
    'select twitter_protocol, twitter_token_secret_sealed is not null as has_secret from users order by twitter_id',
  );
  t.same(stored, [0, 1].map(() => ({ twitter_protocol: protocol, has_secret: protocol === 'oauth1' })), 'each user stored once, with the credentials of the protocol');

  for (const replica of replicas) replica.child.kill('SIGTERM');
  t.same(await Promise.all(replicas.map((replica) => replica.exited)), [0, 0]);
}

t.test('MIGRATE_ON_START=false: refuses an unmigrated database, starts after npm run migrate', async (t) => {
  const databaseUrl = await createTestSchema(t);
  const env = { ...replicaEnv('oauth1', databaseUrl, sharedSecrets()), MIGRATE_ON_START: 'false' };

  const refused = spawnRoost(t, { ...env, PORT: String(await freePort()) });
  t.equal(await refused.exited, 1);
  t.match(refused.output(), `the database lacks migrations ${Object.keys(migrations).join(', ')}: run "npm run migrate"`);

  const migrate = spawnRoost(t, { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, { script: 'src/cli/migrate.ts' });
  t.equal(await migrate.exited, 0);
  t.match(migrate.output(), `applied: ${Object.keys(migrations).join(', ')}`);

  const started = spawnRoost(t, { ...env, PORT: String(await freePort()) });
  await started.ready();
  t.notOk(started.logs().some((line) => line.msg === 'migrations applied'), 'it applied nothing itself');
  started.child.kill('SIGTERM');
  t.equal(await started.exited, 0);
});
