// `npm run bench -- --seed-users N` fills the database the way it grows:
// N users, five sessions each (live, revoked, expired, idle), a spent token
// each, none yet for the purge, and every index of the migrations there
// again afterwards. On the real Postgres, in a schema of this file's own.
import t from 'tap';
import { seedDatabase, SESSIONS_PER_USER } from '../../bench/seed.js';
import { sql } from 'kysely';
import { isPurgeable } from '../../src/sessions/policy.js';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { createTestSchema } from '../helpers/roost.js';

const USERS = 2000;
const IDLE_SECONDS = 7 * 86400;
const url = await createTestSchema(t);
const db = await createDatabase({ databaseUrl: url, poolSize: 1, dataDir: '.data' });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const indexes = async () => (await sql<{ name: string; definition: string }>`select indexname as name, indexdef as definition from pg_indexes where schemaname = current_schema() order by indexname`.execute(db)).rows;

t.test('users, their sessions and spent tokens, analyzed, with every index back', async (t) => {
  const before = await indexes();
  const now = new Date();
  const result = await seedDatabase(url, { users: USERS, now, idleSeconds: IDLE_SECONDS });
  t.match(result, { users: USERS, sessions: USERS * SESSIONS_PER_USER, spentTokens: USERS * SESSIONS_PER_USER });
  t.same(await indexes(), before, 'the same indexes, defined the same way');

  const count = async (table: 'users' | 'sessions' | 'spent_refresh_tokens') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  t.equal(await count('users'), USERS);
  t.equal(await count('sessions'), USERS * SESSIONS_PER_USER);
  t.equal(await count('spent_refresh_tokens'), USERS * SESSIONS_PER_USER);

  const nowMs = now.getTime();
  const sessions = await db.selectFrom('sessions').select(['refresh_hash', 'revoked_at', 'expires_at', 'last_used_at']).execute();
  const live = sessions.filter((s) => s.revoked_at === null && s.expires_at.getTime() > nowMs && s.last_used_at.getTime() > nowMs - IDLE_SECONDS * 1000);
  t.equal(live.length, 2 * USERS, 'two live sessions a user');
  t.equal(sessions.filter((s) => s.revoked_at !== null).length, USERS, 'one revoked');
  t.equal(sessions.filter((s) => s.expires_at.getTime() <= nowMs).length, USERS, 'one past its expiry');
  t.equal(sessions.filter((s) => s.last_used_at.getTime() <= nowMs - IDLE_SECONDS * 1000).length, USERS, 'one idle');
  t.ok(sessions.every((s) => /^[A-Za-z0-9+/]{43}$/.test(s.refresh_hash)), 'hashes shaped like roost’s');
  const retention = { idleSeconds: IDLE_SECONDS, retentionSeconds: 7 * 86400 };
  const lifetimes = sessions.map((s) => ({ revokedAt: s.revoked_at, expiresAt: s.expires_at, lastUsedAt: s.last_used_at }));
  t.equal(lifetimes.filter((s) => isPurgeable(s, nowMs, retention)).length, 0, 'nothing for the purge yet, with SESSION_RETENTION at its default');
});
