// Kysely's own Postgres introspector reads the catalog of every schema before
// the migrator runs, and fails when another schema is dropped meanwhile (it
// happens when test files share one database, and in any database where
// schemas come and go). roost's introspector reads its own schema only.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { CurrentSchemaIntrospector } from '../../src/store/current-schema-introspector.js';
import { createDatabase, migrateDatabase, migrateToLatest } from '../../src/store/db.js';
import { createTestSchema, TEST_DATABASE_URL } from '../helpers/roost.js';

t.test('fresh schemas migrate while other schemas are created and dropped', async (t) => {
  const churn = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await churn.connect();
  t.teardown(() => churn.end());
  let running = true;
  let dropped = 0;
  const loop = (async () => {
    while (running) {
      const name = `roost_churn_${randomBytes(4).toString('hex')}`;
      await churn.query(`create schema ${name}; create table ${name}.t (a int, b text, c int, d text)`);
      await churn.query(`drop schema ${name} cascade`);
      dropped++;
    }
  })();

  const results: string[][] = [];
  try {
    for (let i = 0; i < 8; i++) {
      const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.' });
      try {
        results.push(await migrateToLatest(db));
      } finally {
        await db.destroy();
      }
    }
  } finally {
    running = false;
    await loop;
  }
  t.ok(dropped > 0, `${dropped} schemas dropped meanwhile`);
  t.same(results, Array(8).fill(Object.keys(migrations)), 'every fresh schema was migrated');
});

t.test('the introspector sees the tables of its own schema only', async (t) => {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 1, dataDir: '.' });
  t.teardown(() => db.destroy());
  const introspector = new CurrentSchemaIntrospector(db);
  t.same(await introspector.getTables(), [], 'a fresh schema has no tables');
  await migrateToLatest(db);
  const tables = await introspector.getTables();
  t.same(
    tables.map((table) => table.name),
    ['kysely_migration', 'kysely_migration_lock', 'sessions', 'signing_keys', 'spent_refresh_tokens', 'users'],
  );
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  t.ok(tables.every((table) => table.schema === rows[0]?.schema && !table.isView), 'all in the connection\'s schema');
  t.ok((await introspector.getSchemas()).some((schema) => schema.name === rows[0]?.schema), 'its schema is listed');
  t.same((await introspector.getMetadata()).tables, tables);
});

t.test('migrations wait past the query timeout for another migration to finish', async (t) => {
  const url = await createTestSchema(t);
  // The lock Kysely's Postgres migrator takes: here, another replica in the middle of a long migration.
  const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await other.connect();
  t.teardown(() => other.end());
  const requestPool = () => createDatabase({ databaseUrl: url, poolSize: 2, timeoutMs: 100, dataDir: '.' });
  await other.query('select pg_advisory_lock(3853314791062309107)');
  try {
    // Its connection stays queued on the lock after the timeout: this pool is thrown away.
    const timedOut = await requestPool();
    await t.rejects(migrateToLatest(timedOut), /timeout/i, 'on the request pool, the wait hits its 100 ms query timeout');
    await timedOut.destroy();

    const db = await requestPool();
    t.teardown(() => db.destroy());
    const migrating = migrateDatabase(db, { databaseUrl: url, dataDir: '.' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await other.query('select pg_advisory_unlock(3853314791062309107)');
    t.same(await migrating, Object.keys(migrations), 'its own connection waited for the lock, then migrated');
    t.same(await migrateDatabase(db, { databaseUrl: url, dataDir: '.' }), [], 'nothing left the second time');
  } finally {
    await other.query('select pg_advisory_unlock_all()');
  }
});
