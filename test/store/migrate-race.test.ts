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
  // Another schema in the same database, with a table of its own.
  const elsewhere = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 1, dataDir: '.' });
  t.teardown(() => elsewhere.destroy());
  await sql`create table elsewhere_only (a int)`.execute(elsewhere);

  const introspector = new CurrentSchemaIntrospector(db);
  t.same(await introspector.getTables(), [], 'a fresh schema has no tables, whatever other schemas hold');
  await migrateToLatest(db);
  const tables = await introspector.getTables();
  const { rows: catalog } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db);
  t.same(tables.map((table) => table.name).sort(), catalog.map((row) => row.name), 'exactly the tables the catalog lists in its schema');
  t.ok(['kysely_migration', 'kysely_migration_lock', 'sessions', 'signing_keys', 'users'].every((name) => catalog.some((row) => row.name === name)), 'the migrated tables among them');
  t.notOk(tables.some((table) => table.name === 'elsewhere_only'), 'none of another schema\'s');
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  t.ok(tables.every((table) => table.schema === rows[0]?.schema && !table.isView), 'all in the connection\'s schema');
  t.ok((await introspector.getSchemas()).some((schema) => schema.name === rows[0]?.schema), 'its schema is listed');
  t.same((await introspector.getMetadata()).tables, tables);
});

t.test('migrations wait past the query timeout for another migration to finish', async (t) => {
  const url = await createTestSchema(t);
  const schema = /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '')?.[1];
  // The lock Kysely's Postgres migrator takes: here, another replica in the middle of a long migration.
  const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await other.connect();
  t.teardown(() => other.end());
  const tableExists = async (name: string) => (await other.query<{ found: string | null }>('select to_regclass($1) as found', [`${schema}.${name}`])).rows[0]?.found != null;
  const requestPool = () => createDatabase({ databaseUrl: url, poolSize: 2, timeoutMs: 100, dataDir: '.' });
  await other.query('select pg_advisory_lock(3853314791062309107)');
  try {
    // Its connection stays queued on the lock after the timeout: this pool is thrown away.
    const timedOut = await requestPool();
    await t.rejects(migrateToLatest(timedOut), /timeout/i, 'on the request pool, the wait hits its 100 ms query timeout');
    await timedOut.destroy();

    const db = await requestPool();
    t.teardown(() => db.destroy());
    let finishedAt: number | undefined;
    const migrating = migrateDatabase(db, { databaseUrl: url, dataDir: '.' });
    migrating.then(
      () => (finishedAt = Date.now()),
      () => (finishedAt = Date.now()),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    t.equal(finishedAt, undefined, 'still waiting 400 ms later, past the 100 ms query timeout, while the lock is held');
    t.notOk(await tableExists('users'), 'nothing migrated meanwhile');
    const releasedAt = Date.now();
    await other.query('select pg_advisory_unlock(3853314791062309107)');
    t.same(await migrating, Object.keys(migrations), 'its own connection waited for the lock, then migrated');
    t.ok(finishedAt !== undefined && finishedAt >= releasedAt, 'it finished only after the lock was released');
    t.ok(await tableExists('users'));
    t.same(await migrateDatabase(db, { databaseUrl: url, dataDir: '.' }), [], 'nothing left the second time');
  } finally {
    await other.query('select pg_advisory_unlock_all()');
  }
});
