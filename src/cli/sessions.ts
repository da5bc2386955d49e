// npm run sessions -- purge: deletes at once the sessions that ended more
// than SESSION_RETENTION seconds ago, as every replica does on its timer
// (for SESSION_PURGE_INTERVAL=0 and a scheduled job instead). Against
// DATABASE_URL, or the embedded database while roost is stopped. Reads only
// the database and session settings.
import { describeCliError, lockEmbeddedDatabase } from './command-error.js';
import { loadSessionsCommandConfig } from '../config.js';
import { createDatabase } from '../store/db.js';
import { purgeCutoffs } from '../sessions/policy.js';
import { purgeEndedSessions } from '../sessions/purge.js';
import { deleteEndedSessions } from '../sessions/queries.js';

const USAGE = `usage: npm run sessions -- purge
  purge   delete the sessions that ended more than SESSION_RETENTION seconds ago,
          with their spent refresh tokens`;

const args = process.argv.slice(2);
if (args.length !== 1 || args[0] !== 'purge') {
  const problem = args.length === 0 ? 'a command is required' : args[0] === 'purge' ? 'purge takes no arguments' : `unknown command "${args[0]}"`;
  process.stderr.write(`roost sessions: ${problem}\n${USAGE}\n`);
  process.exit(2);
}

try {
  const config = loadSessionsCommandConfig(process.env);
  lockEmbeddedDatabase(config, 'sessions');
  const db = await createDatabase({ databaseUrl: config.databaseUrl, poolSize: 1, timeoutMs: config.databaseTimeoutMs, dataDir: config.dataDir });
  try {
    const nowMs = Date.now();
    const purged = await purgeEndedSessions((cutoffs, limit) => deleteEndedSessions(db, cutoffs, limit), purgeCutoffs(nowMs, { idleSeconds: config.sessionIdleTtl, retentionSeconds: config.sessionRetention }));
    const endedBy = new Date(nowMs - config.sessionRetention * 1000).toISOString();
    process.stdout.write(`purged ${purged} ${purged === 1 ? 'session' : 'sessions'} that ended by ${endedBy} (SESSION_RETENTION ${config.sessionRetention} s)\n`);
  } finally {
    await db.destroy();
  }
} catch (error) {
  process.stderr.write(`roost sessions: ${describeCliError(error, process.env.DATABASE_URL)}\n`);
  process.exit(1);
}
