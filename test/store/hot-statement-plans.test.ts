// Cost per operation stays flat as users and sessions grow: each statement
// behind a sign-in, a refresh, /me, the session list and the purge reaches
// users, sessions and spent refresh tokens through an index, never a
// sequential scan. The statements come from roost's own query functions
// (recorded as compiled, bench/statements.ts), and Postgres plans them on
// tens of thousands of rows, analyzed, in a schema of this file's own.
import pg from 'pg';
import t from 'tap';
import { recordStatements, type Statement } from '../../bench/statements.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { purgeCutoffs, rotationBounds } from '../../src/sessions/policy.js';
import { deleteEndedSessions, findSessionByRefreshFamily, findSessionByRefreshHash, findSessionState, insertSession, listActiveSessions, revokeSession, touchSession } from '../../src/sessions/queries.js';
import { rotateRefreshToken } from '../../src/sessions/rotation.js';
import { findUser, upsertUser } from '../../src/users/profiles.js';
import { createTestSchema } from '../helpers/roost.js';

const USERS = 20_000;
const SESSIONS_PER_USER = 3;
const SPENT_PER_SESSION = 2;
const NOW = Date.now();
const IDLE_SECONDS = 7 * 86400;
const RETENTION_SECONDS = 7 * 86400;
const HOT_TABLES = new Set(['users', 'sessions', 'spent_refresh_tokens']);

const url = await createTestSchema(t);
const db = await createDatabase({ databaseUrl: url, poolSize: 1, dataDir: '.data' });
t.teardown(() => db.destroy());
await migrateToLatest(db);
const client = new pg.Client({ connectionString: url });
await client.connect();
t.teardown(() => client.end());

// Users; three sessions each, most live, some revoked, expired or idle within
// the retention, a few ended long enough ago to be purged; two spent tokens
// per session. Made in bulk by Postgres itself.
const at = (offsetMs: number) => new Date(NOW + offsetMs);
await client.query(
  `insert into users (twitter_id, screen_name, name, twitter_token_sealed, twitter_token_secret_sealed)
   select (1240000000000000000 + i)::text, 'user_' || i, 'User ' || i, 'sealed', 'sealed' from generate_series(1, $1::int) as i`,
  [USERS],
);
await client.query(
  `insert into sessions (user_id, refresh_hash, refresh_family, rotations, created_at, last_used_at, expires_at, revoked_at, revoked_reason)
   select u.id, md5('live' || u.twitter_id || n), md5('family' || u.twitter_id || n), $2::int, $3::timestamptz,
     case when n = 3 and u.twitter_id::numeric % 10 = 0 then $5::timestamptz - interval '1 hour' else $4::timestamptz end,
     case when n = 2 and u.twitter_id::numeric % 10 = 0 then $4::timestamptz else $3::timestamptz + interval '30 days' end,
     case when n = 1 and u.twitter_id::numeric % 10 = 0 then $4::timestamptz
          when n = 1 and u.twitter_id::numeric % 100 = 1 then $6::timestamptz end,
     null
   from users u cross join generate_series(1, $1::int) as n`,
  [SESSIONS_PER_USER, SPENT_PER_SESSION, at(-3 * 86400_000), at(-3600_000), at(-IDLE_SECONDS * 1000), at(-(RETENTION_SECONDS + 86400) * 1000)],
);
await client.query(`update sessions set revoked_reason = 'signed_out' where revoked_at is not null`);
await client.query(
  `insert into spent_refresh_tokens (hash, session_id, spent_at, generation)
   select md5('spent' || s.refresh_hash || g), s.id, $2::timestamptz, g from sessions s cross join generate_series(1, $1::int) as g`,
  [SPENT_PER_SESSION, at(-3600_000)],
);
await client.query('analyze');

const sample = (
  await client.query<{ user_id: string; session_id: string; refresh_hash: string; refresh_family: string; twitter_id: string; spent_hash: string }>(
    `select s.user_id, s.id as session_id, s.refresh_hash, s.refresh_family, u.twitter_id, t.hash as spent_hash
     from sessions s join users u on u.id = s.user_id join spent_refresh_tokens t on t.session_id = s.id
     where s.revoked_at is null order by s.refresh_hash limit 1`,
  )
).rows[0] as { user_id: string; session_id: string; refresh_hash: string; refresh_family: string; twitter_id: string; spent_hash: string };

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Conflict Arbiter Indexes'?: string[]; Plans?: PlanNode[] };

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** What is wrong with a statement's plan for a table that grows: empty when it is reached through indexes only. */
async function planProblems(statement: Statement): Promise<string[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`explain (format json) ${statement.sql}`, statement.parameters as unknown[]);
  const nodes = nodesOf((rows[0]?.['QUERY PLAN'][0] as { Plan: PlanNode }).Plan);
  const problems = nodes
    .filter((node) => node['Node Type'] === 'Seq Scan' && HOT_TABLES.has(node['Relation Name'] ?? ''))
    .map((node) => `Seq Scan on ${node['Relation Name']}`);
  const indexes = nodes.flatMap((node) => [...(node['Index Name'] ? [node['Index Name']] : []), ...(node['Conflict Arbiter Indexes'] ?? [])]);
  if (indexes.length === 0) problems.push('no index used');
  return problems;
}

const sealed = { protocol: 'oauth1' as const, token: 'sealed-token', secret: 'sealed-secret' };
const rotation = (presentedHash: string) => ({
  presentedHash,
  nextHash: 'next-hash',
  family: sample.refresh_family,
  nowMs: NOW,
  bounds: rotationBounds(NOW, IDLE_SECONDS),
});

/** Each hot path and the query functions behind it, called as roost calls them. */
const hotPaths: Record<string, (db: Db) => Promise<unknown>> = {
  'sign-in: the user upsert (a returning user)': (db) =>
    upsertUser(db, { twitterId: sample.twitter_id, screenName: 'user', name: 'User', picture: null, email: null }, sealed),
  'sign-in: the user upsert (a new user)': (db) => upsertUser(db, { twitterId: '1', screenName: 'new', name: 'New', picture: null, email: null }, sealed),
  'sign-in and code redemption: the new session': (db) =>
    insertSession(db, { userId: sample.user_id, refreshHash: 'new-hash', refreshFamily: 'new-family', nowMs: NOW, ttlSeconds: 30 * 86400, userAgent: 'bench', ip: '127.0.0.1' }),
  'refresh: the rotation of the live token': (db) => rotateRefreshToken(db, rotation(sample.refresh_hash)),
  'refresh: the session of a spent token': (db) => findSessionByRefreshHash(db, sample.spent_hash),
  'refresh: the session of a forgotten token, by its family': (db) => findSessionByRefreshFamily(db, sample.refresh_family),
  'refresh: a repeat within the grace window': (db) => touchSession(db, sample.session_id, NOW),
  'refresh: reuse ends the session': (db) => revokeSession(db, sample.session_id, 'refresh_token_reuse', NOW),
  "/me: the session check": (db) => findSessionState(db, sample.session_id),
  '/me and code redemption: the profile': (db) => findUser(db, sample.user_id),
  'the session list': (db) => listActiveSessions(db, sample.user_id, NOW, IDLE_SECONDS),
  'the purge': (db) => deleteEndedSessions(db, purgeCutoffs(NOW, { idleSeconds: IDLE_SECONDS, retentionSeconds: RETENTION_SECONDS }), 200),
};

t.test('the seed is what the plans are checked on', async (t) => {
  const count = async (table: string) => Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]?.n);
  t.equal(await count('users'), USERS);
  t.equal(await count('sessions'), USERS * SESSIONS_PER_USER);
  t.equal(await count('spent_refresh_tokens'), USERS * SESSIONS_PER_USER * SPENT_PER_SESSION);
  t.equal(await purgeableCount(), USERS / 100, 'a few sessions are purgeable, as between two purges');
  t.equal((await findSessionState(db, sample.session_id))?.revokedAt, null, 'the sample session is live');
});

/** How many sessions the purge would delete now: it deletes them all in a transaction that is rolled back. */
async function purgeableCount(): Promise<number> {
  let deleted = -1;
  await db
    .transaction()
    .execute(async (trx) => {
      deleted = await deleteEndedSessions(trx, purgeCutoffs(NOW, { idleSeconds: IDLE_SECONDS, retentionSeconds: RETENTION_SECONDS }), 1_000_000);
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return deleted;
}

class RolledBack extends Error {}

for (const [name, run] of Object.entries(hotPaths)) {
  t.test(name, async (t) => {
    const statements = await recordStatements(run);
    t.ok(statements.length > 0, 'the code sends a statement');
    for (const statement of statements) {
      t.same(await planProblems(statement), [], statement.sql.slice(0, 120));
    }
  });
}

t.test('the check sees a sequential scan, and an index gone', async (t) => {
  t.same(await planProblems({ sql: 'select id from sessions where ip = $1', parameters: ['127.0.0.1'] }), ['Seq Scan on sessions', 'no index used']);
  const [list] = await recordStatements(hotPaths['the session list'] as (db: Db) => Promise<unknown>);
  await client.query('begin');
  try {
    await client.query('drop index sessions_user_id');
    const problems = await planProblems(list as Statement);
    t.ok(problems.includes('Seq Scan on sessions'), `without sessions_user_id the session list scans every session (${problems.join(', ')})`);
  } finally {
    await client.query('rollback');
  }
});
