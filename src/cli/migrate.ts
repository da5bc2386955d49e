// npm run migrate: applies pending migrations to DATABASE_URL (or the embedded
// database). Reads only the database settings: a release step needs no other secret.
import { describeCliError, lockEmbeddedDatabase } from './command-error.js';
import { loadMigrateConfig } from '../config.js';
import { createDatabase, migrateDatabase } from '../store/db.js';

try {
  const config = loadMigrateConfig(process.env);
  lockEmbeddedDatabase(config, 'migrate');
  const db = await createDatabase({ databaseUrl: config.databaseUrl, poolSize: 1, timeoutMs: config.databaseTimeoutMs, dataDir: config.dataDir });
  try {
    const applied = await migrateDatabase(db, config);
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await db.destroy();
  }
} catch (error) {
  process.stderr.write(`roost migrate: ${describeCliError(error, process.env.DATABASE_URL)}\n`);
  process.exit(1);
}
