// The sessions command as an operator runs it: a process with the server's
// environment, its exit code and what it prints, against the real Postgres.
import t from 'tap';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { hashRefreshToken, newRefreshToken } from '../../src/sessions/refresh-tokens.js';
import { insertSession } from '../../src/sessions/queries.js';
import { runCommand } from '../helpers/child.js';
import { createTestSchema } from '../helpers/roost.js';

function sessions(args: string[], env: Record<string, string>, viaNpm = false) {
  return runCommand(viaNpm ? { npmScript: 'sessions' } : { script: 'src/cli/sessions.ts' }, args, env);
}

const databaseUrl = await createTestSchema(t);
// Production, with only the database and the session setting the command reads.
const env = { NODE_ENV: 'production', DATABASE_URL: databaseUrl, SESSION_RETENTION: '86400' };

t.test('refusals: bad usage, bad configuration, no migrations yet', async (t) => {
  const [nothing, unknown, extra, config, unmigrated] = await Promise.all([
    sessions([], env),
    sessions(['list'], env),
    sessions(['purge', '--all'], env),
    sessions(['purge'], { ...env, SESSION_RETENTION: 'a week' }),
    sessions(['purge'], env),
  ]);
  t.match(nothing, { code: 2, stdout: '', stderr: /^roost sessions: a command is required\nusage: npm run sessions -- purge/ });
  t.match(unknown, { code: 2, stderr: /^roost sessions: unknown command "list"\n/ });
  t.match(extra, { code: 2, stderr: /^roost sessions: purge takes no arguments\n/ });
  t.match(config, { code: 1, stderr: /SESSION_RETENTION must be a whole number from 0 to 31622400 \(got "a week"\)/ });
  t.match(unmigrated, { code: 1, stderr: /^roost sessions: the database failed: relation "sessions" does not exist \(apply the migrations first: npm run migrate, or node dist\/src\/cli\/migrate\.js from a build\)\n$/ });
});

t.test('purge deletes the sessions that ended more than SESSION_RETENTION ago', async (t) => {
  const db = await createDatabase({ databaseUrl, poolSize: 1, dataDir: '.data' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  const user = await db
    .insertInto('users')
    .values({ twitter_id: '1', screen_name: 'a', name: 'A', twitter_token_sealed: 'x', twitter_token_secret_sealed: 'y', created_at: new Date(), updated_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  const open = async (createdAt: number, revokedAt?: number) => {
    const session = await insertSession(db, { userId: user.id, refreshHash: hashRefreshToken(newRefreshToken()), nowMs: createdAt, ttlSeconds: 30 * 86400, userAgent: null, ip: null });
    if (revokedAt !== undefined) await db.updateTable('sessions').set({ revoked_at: new Date(revokedAt) }).where('id', '=', session?.id as string).execute();
    return session?.id as string;
  };
  const now = Date.now();
  const live = await open(now - 60_000);
  const recent = await open(now - 3600_000, now - 3600_000);
  await open(now - 3 * 86400_000, now - 2 * 86400_000);
  await open(now - 10 * 86400_000);

  const first = await sessions(['purge'], env, true);
  t.match(first, { code: 0, stderr: '', stdout: /^purged 2 sessions that ended by \d{4}-\d\d-\d\dT[\d:.]+Z \(SESSION_RETENTION 86400 s\)\n$/ }, 'npm run sessions -- purge');
  const left = await db.selectFrom('sessions').select('id').orderBy('id').execute();
  t.same(left.map((row) => row.id).sort(), [live, recent].sort());
  t.match(await sessions(['purge'], env), { code: 0, stdout: /^purged 0 sessions that ended by / }, 'nothing left to purge');
});
