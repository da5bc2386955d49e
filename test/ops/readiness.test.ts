// GET /readyz against the real Postgres and Redis, each behind a proxy the
// test can cut: the answer names the check that failed, and recovers.
import pg from 'pg';
import t from 'tap';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import { startRoost } from '../helpers/roost.js';
import { AppError } from '../../src/errors.js';
import { checkReadiness } from '../../src/ops/readiness.js';

const { postgres, redis, databaseUrl, directDatabaseUrl, redisUrl } = await startDependencyProxies(t);
const roost = await startRoost(t, { env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } });

async function readyz() {
  const started = performance.now();
  const response = await fetch(`${roost.url}/readyz`);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown>, ms: performance.now() - started };
}

/** The sum of a metric's samples whose labels include `labels` (e.g. 'kind="command"'). */
async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${roost.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 60; attempt++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const ALL_OK = { postgres: 'ok', redis: 'ok', migrations: 'ok', signing_key: 'ok' };

t.test('ready: 200 and every check ok', async (t) => {
  const answer = await readyz();
  t.equal(answer.status, 200);
  t.same(answer.body, { status: 'ok', checks: ALL_OK });
  t.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(answer.headers.get('cache-control'), 'no-store');
});

t.test('Redis away: 503 naming redis, a redis error counted, then ready again', async (t) => {
  const errorsBefore = await metric('roost_redis_errors_total', 'kind="command"');
  await redis.cut();
  const answer = await readyz();
  t.equal(answer.status, 503);
  t.same(answer.body, { status: 'unavailable', checks: { ...ALL_OK, redis: 'down' } });
  t.ok(answer.ms < 3000, `answered in ${Math.round(answer.ms)} ms`);
  t.ok((await metric('roost_redis_errors_total', 'kind="command"')) > errorsBefore, 'the failed PING is counted');
  t.ok(roost.logs.some((line) => line.msg === 'not ready' && typeof (line.reasons as Record<string, unknown>)?.redis === 'string'), 'the log says why');
  await redis.restore();
  t.ok(await eventually(async () => (await readyz()).status === 200), 'ready again');
});

t.test('Postgres away: 503 naming postgres, migrations unknown, a postgres error counted', async (t) => {
  const errorsBefore = await metric('roost_postgres_errors_total');
  await postgres.cut();
  const answer = await readyz();
  t.equal(answer.status, 503);
  t.same(answer.body, { status: 'unavailable', checks: { ...ALL_OK, postgres: 'down', migrations: 'unknown' } });
  t.ok(answer.ms < 3000, `answered in ${Math.round(answer.ms)} ms`);
  t.ok((await metric('roost_postgres_errors_total')) > errorsBefore, 'the failure is counted');
  await postgres.restore();
  t.ok(await eventually(async () => (await readyz()).status === 200), 'ready again');
});

t.test('a migration missing from the database: 503 naming migrations', async (t) => {
  const admin = new pg.Client({ connectionString: directDatabaseUrl });
  await admin.connect();
  t.teardown(() => admin.end());
  const { rows } = await admin.query<{ name: string; timestamp: string }>('select name, timestamp from kysely_migration');
  await admin.query('delete from kysely_migration');
  const answer = await readyz();
  t.equal(answer.status, 503);
  t.same(answer.body, { status: 'unavailable', checks: { ...ALL_OK, migrations: 'pending' } });
  for (const row of rows) await admin.query('insert into kysely_migration (name, timestamp) values ($1, $2)', [row.name, row.timestamp]);
  t.equal((await readyz()).status, 200);
});

t.test('POST /readyz is a 404 problem', async (t) => {
  const response = await fetch(`${roost.url}/readyz`, { method: 'POST' });
  t.equal(response.status, 404);
  t.match(await response.json(), { code: 'not_found' });
});

t.test('checkReadiness: a hung dependency is down after the bound; a missing key is named', async (t) => {
  const hang = () => new Promise<never>(() => {});
  const deps = { db: roost.deps.db, store: { ping: hang }, signingKey: () => undefined, redisConfigured: true };
  const started = performance.now();
  const result = await checkReadiness(deps, 200);
  t.ok(performance.now() - started < 2000, 'did not hang');
  t.same(result.checks, { postgres: 'ok', redis: 'down', migrations: 'ok', signing_key: 'missing' });
  t.equal(result.status, 'unavailable');
  t.match(result.reasons, { redis: /no answer within 200 ms/, signing_key: /no signing key/ });
  const throwing = await checkReadiness({ ...deps, store: roost.deps.store, signingKey: () => { throw new Error('sealed with another key'); } });
  t.same(throwing.checks.signing_key, 'missing');
  t.match(throwing.reasons, { signing_key: 'sealed with another key' });
  t.same(throwing.shareableReasons, {}, 'an unexpected error is not sent');
});

t.test('checkReadiness: a replica that may not sign is unusable, and says why in words it may send', async (t) => {
  // As the key ring throws it: a detail for clients, the operator's reason as the cause.
  const detail = 'This server cannot issue tokens right now; try again shortly';
  const reason = 'This replica cannot open the current signing key k (sealed with key x), so it issues no tokens. Operator: …';
  const result = await checkReadiness({
    db: roost.deps.db,
    store: roost.deps.store,
    redisConfigured: true,
    signingKey: () => {
      throw new AppError('signing_key_unavailable', detail, { cause: new Error(reason) });
    },
  });
  t.equal(result.status, 'unavailable');
  t.same(result.checks, { ...ALL_OK, signing_key: 'unusable' });
  t.same(result.shareableReasons, { signing_key: reason }, 'the probe says what the operator should do');
  t.match(result.reasons, { signing_key: `signing_key_unavailable: ${detail}: ${reason}` }, 'the log has it too');
});

t.test('without REDIS_URL, /readyz says Redis is not configured, and is ready', async (t) => {
  const embedded = await startRoost(t, { embedded: true });
  const response = await fetch(`${embedded.url}/readyz`);
  t.equal(response.status, 200);
  t.same(await response.json(), { status: 'ok', checks: { postgres: 'ok', redis: 'not configured', migrations: 'ok', signing_key: 'ok' } });
});
