// The rotation of a live refresh token in one statement: it rotates exactly
// when decideRefresh says 'rotate', keeps the spent token and reads the
// user in the same round trip, and tells an ended session and a rotation
// lost to a concurrent refresh from a token that is not live. On the real
// Postgres, in a schema of this file's own.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { generateKeyPair } from 'jose';
import pg from 'pg';
import t from 'tap';
import { decideRefresh, rotationBounds } from '../../src/sessions/policy.js';
import { refreshGrant, type GrantDeps } from '../../src/sessions/grants.js';
import { insertSession } from '../../src/sessions/queries.js';
import { hashRefreshToken, newRefreshToken, nextRefreshToken, refreshFamily } from '../../src/sessions/refresh-tokens.js';
import { rotateRefreshToken, type Rotation } from '../../src/sessions/rotation.js';
import { createSessionCheck } from '../../src/sessions/session-check.js';
import { createMemoryStore } from '../../src/sign-in/flow-store.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { createTestSchema } from '../helpers/roost.js';

const IDLE_SECONDS = 3600;
const TTL_SECONDS = 86400;
const START = Date.UTC(2026, 0, 1);

const url = await createTestSchema(t);
const db = await createDatabase({ databaseUrl: url, poolSize: 4, dataDir: '.data' });
t.teardown(() => db.destroy());
await migrateToLatest(db);
const user = await db
  .insertInto('users')
  .values({ twitter_id: '1240000000000000001', screen_name: 'ada', name: 'Ada', twitter_token_sealed: 'sealed', twitter_token_secret_sealed: 'sealed' })
  .returning(['id', 'twitter_id'])
  .executeTakeFirstOrThrow();

async function openSession(nowMs = START): Promise<{ id: string; token: string }> {
  const token = newRefreshToken();
  const session = await insertSession(db, { userId: user.id, refreshHash: hashRefreshToken(token), refreshFamily: refreshFamily(token), nowMs, ttlSeconds: TTL_SECONDS, userAgent: null, ip: null });
  if (!session) throw new Error('no session');
  return { id: session.id, token };
}

function rotationOf(token: string, nowMs: number): Rotation {
  return { presentedHash: hashRefreshToken(token), nextHash: hashRefreshToken(`${token}.next`), family: refreshFamily(token), nowMs, bounds: rotationBounds(nowMs, IDLE_SECONDS) };
}

const sessionRow = (id: string) => db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const spentOf = (id: string) => db.selectFrom('spent_refresh_tokens').selectAll().where('session_id', '=', id).execute();

t.test('rotationBounds lets a live token rotate exactly when decideRefresh says rotate', async (t) => {
  const times = { idleSeconds: IDLE_SECONDS, graceSeconds: 10 };
  fc.assert(
    fc.property(fc.integer({ min: -3 * IDLE_SECONDS * 1000, max: 3 * IDLE_SECONDS * 1000 }), fc.integer({ min: -3 * IDLE_SECONDS * 1000, max: 10_000 }), fc.boolean(), (expiresIn, lastUsedAgo, revoked) => {
      const session = { revokedAt: revoked ? new Date(START - 1) : null, expiresAt: new Date(START + expiresIn), lastUsedAt: new Date(START - lastUsedAgo), spentAt: null, childIsLive: false };
      const bounds = rotationBounds(START, IDLE_SECONDS);
      const inBounds = session.revokedAt === null && session.expiresAt > bounds.expiresAfter && session.lastUsedAt > bounds.lastUsedAfter;
      return inBounds === (decideRefresh(session, START, times) === 'rotate');
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('the live token rotates: the new hash, the spent one kept, the user read', async (t) => {
  const { id, token } = await openSession();
  const now = START + 60_000;
  const rotation = rotationOf(token, now);
  const result = await rotateRefreshToken(db, rotation);
  t.match(result, { kind: 'rotated', sessionId: id, user: { id: user.id, twitter_id: user.twitter_id, screen_name: 'ada', name: 'Ada', picture: null, email: null } });
  const row = await sessionRow(id);
  t.equal(row.refresh_hash, rotation.nextHash);
  t.equal(row.last_used_at.getTime(), now);
  t.equal(row.rotations, 1);
  t.match(await spentOf(id), [{ hash: rotation.presentedHash, generation: 1 }]);
  t.same(await rotateRefreshToken(db, rotation), { kind: 'not-live' }, 'the spent token is not live any more');
  t.same(await rotateRefreshToken(db, rotationOf(newRefreshToken(), now)), { kind: 'not-live' }, 'nor is an unknown one');
});

t.test('an ended session keeps its token: revoked, past its expiry, idle', async (t) => {
  const cases: Array<[string, (id: string) => Promise<unknown>, number]> = [
    ['revoked', (id) => db.updateTable('sessions').set({ revoked_at: new Date(START) }).where('id', '=', id).execute(), START + 1000],
    ['past its absolute expiry, to the millisecond', async () => undefined, START + TTL_SECONDS * 1000],
    ['idle for exactly SESSION_IDLE_TTL', async () => undefined, START + IDLE_SECONDS * 1000],
  ];
  for (const [name, end, now] of cases) {
    const { id, token } = await openSession();
    await end(id);
    const before = await sessionRow(id);
    const result = await rotateRefreshToken(db, rotationOf(token, now));
    t.match(result, { kind: 'kept', session: { id, user_id: user.id, refresh_hash: hashRefreshToken(token) } }, name);
    t.same(await sessionRow(id), before, `${name}: nothing changed`);
    t.same(await spentOf(id), [], `${name}: nothing spent`);
  }
  const { id, token } = await openSession();
  t.match(await rotateRefreshToken(db, rotationOf(token, START + IDLE_SECONDS * 1000 - 1)), { kind: 'rotated', sessionId: id }, 'a millisecond inside the idle window');
});

/** Holds the session's row lock in a transaction of its own, as a concurrent refresh does, until `release` commits it. */
async function holdRowLock(id: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  await client.query('select 1 from sessions where id = $1 for update', [id]);
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  return {
    query: (text: string, values: unknown[]) => client.query(text, values),
    /** Resolves once another backend waits for this lock: the statement under test reached the row. */
    waited: async () => {
      for (let i = 0; i < 500; i++) {
        const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [pid]);
        if ((rows[0]?.n ?? 0) > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('nothing waited for the lock');
    },
    release: async () => {
      await client.query('commit');
      await Promise.all([client.end(), admin.end()]);
    },
  };
}

t.test('a rotation that waits for a concurrent one finds the token gone, and says it saw it live', async (t) => {
  const { id, token } = await openSession();
  const lock = await holdRowLock(id);
  const pending = rotateRefreshToken(db, rotationOf(token, START + 1000));
  await lock.waited();
  await lock.query('update sessions set refresh_hash = $1 where id = $2', [hashRefreshToken('rotated by another replica'), id]);
  await lock.release();
  t.match(await pending, { kind: 'kept', session: { id, refresh_hash: hashRefreshToken(token) } });
  t.same(await spentOf(id), [], 'it spent nothing');
});

t.test('refreshGrant: one statement for a live token; a lost race is answered by the grace window as concurrent', async (t) => {
  let now = START;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const repeats: Array<{ sessionId: string; concurrent: boolean }> = [];
  let statements = 0;
  const counting = db.withPlugin({ transformQuery: ({ node }) => node, transformResult: async ({ result }) => ((statements += 1), result) });
  const deps = (handle: Db): GrantDeps => ({
    config: { publicUrl: 'http://roost.test', jwtAudience: undefined, accessTokenTtl: 900, sessionTtl: TTL_SECONDS, sessionIdleTtl: IDLE_SECONDS, refreshReuseGrace: 10 },
    db: handle,
    store: createMemoryStore(() => now),
    signingKey: () => ({ kid: 'k', alg: 'ES256', privateKey, publicJwk: { kty: 'EC', kid: 'k', alg: 'ES256', use: 'sig' } }),
    refreshChain: { key: randomBytes(32), legacyKeys: [] },
    sessionCheck: createSessionCheck(handle, () => now, IDLE_SECONDS),
    now: () => now,
    onRepeat: (sessionId, _derivation, concurrent) => repeats.push({ sessionId, concurrent }),
  });
  const grants = deps(counting);

  const { id, token } = await openSession();
  now += 60_000;
  const answer = await refreshGrant(grants, token);
  t.equal(statements, 1, 'the refresh of a live token is one round trip to Postgres');
  t.equal(answer.refresh_token, nextRefreshToken(grants.refreshChain.key, token));
  t.equal((await sessionRow(id)).refresh_hash, hashRefreshToken(answer.refresh_token));

  // Another replica holds the row while it rotates the same token to the same child, then commits.
  const parent = answer.refresh_token;
  const child = nextRefreshToken(grants.refreshChain.key, parent);
  const lock = await holdRowLock(id);
  const pending = refreshGrant(grants, parent);
  await lock.waited();
  await lock.query('update sessions set refresh_hash = $1, rotations = rotations + 1 where id = $2', [hashRefreshToken(child), id]);
  await lock.query('insert into spent_refresh_tokens (hash, session_id, spent_at, generation) values ($1, $2, $3, 2)', [hashRefreshToken(parent), id, new Date(now)]);
  await lock.release();
  t.equal((await pending).refresh_token, child, 'the same new token the other replica made');
  t.same(repeats, [{ sessionId: id, concurrent: true }], 'answered by the grace window, and known to be concurrent');

  now += 1000;
  await t.rejects(refreshGrant(grants, token), { code: 'invalid_grant', detail: /already used/ }, 'the grandparent is reuse');
  t.not((await sessionRow(id)).revoked_at, null, 'which ends the session');
  await t.rejects(refreshGrant(grants, child), { code: 'invalid_grant', detail: /has ended/ }, 'and its live token with it');
});
