// Signing keys in Postgres: created once even when replicas race, sealed at
// rest, and unusable with another ENCRYPTION_KEY.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createDatabase, migrateToLatest, type Db } from '../src/db.js';
import { loadSigningKey } from '../src/keys.js';
import { createTestSchema } from './helpers/roost.js';

async function freshDb(t: Parameters<typeof createTestSchema>[0]): Promise<Db> {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 10, dataDir: '.data' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  return db;
}

t.test('migrations run once', async (t) => {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.data' });
  t.teardown(() => db.destroy());
  t.same(await migrateToLatest(db), ['0001_initial']);
  t.same(await migrateToLatest(db), []);
});

t.test('replicas starting at once on an empty database create exactly one key', async (t) => {
  const db = await freshDb(t);
  const key = randomBytes(32);
  const loaded = await Promise.all(Array.from({ length: 8 }, () => loadSigningKey(db, key)));
  t.equal(new Set(loaded.map((k) => k.kid)).size, 1);
  const rows = await db.selectFrom('signing_keys').selectAll().execute();
  t.equal(rows.length, 1);
  t.equal(rows[0]?.state, 'current');
  t.match(rows[0]?.private_jwk_sealed, /^v1\./);
  t.notOk('d' in (rows[0]?.public_jwk ?? {}), 'the public JWK column holds no private member');
  t.equal((await loadSigningKey(db, key)).kid, loaded[0]?.kid, 'a restart reads the same key');
});

t.test('another ENCRYPTION_KEY cannot open the key', async (t) => {
  const db = await freshDb(t);
  await loadSigningKey(db, randomBytes(32));
  await t.rejects(loadSigningKey(db, randomBytes(32)), /cannot be decrypted: is ENCRYPTION_KEY the one it was created with/);
});
