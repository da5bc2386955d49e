// npm run migrate: applies pending migrations to DATABASE_URL (or the embedded database).
import { ConfigError, loadConfig } from './config.js';
import { createDatabase, migrateToLatest } from './db.js';

try {
  const config = loadConfig(process.env);
  const db = await createDatabase({ databaseUrl: config.databaseUrl, poolSize: 1, dataDir: config.dataDir });
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await db.destroy();
  }
} catch (error) {
  process.stderr.write(`roost migrate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
