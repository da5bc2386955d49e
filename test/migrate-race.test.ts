// Kysely's migrator reads the catalog of every schema before it migrates;
// another schema dropped meanwhile must not fail a start (it happens when
// test files share one database, and in any database where schemas come
// and go).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { migrations } from '../migrations/index.js';
import { createDatabase, migrateToLatest } from '../src/db.js';
import { createTestSchema, TEST_DATABASE_URL } from './helpers/roost.js';

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
