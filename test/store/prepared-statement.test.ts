// A statement compiled once per database handle sends each call's values in
// place of the markers it was built with, keeps the code's constants, and
// refuses a builder that does not send every value it names. On Postgres it
// goes as a named prepared statement, unless the database is told not to.
import { sql } from 'kysely';
import t from 'tap';
import { recordStatements } from '../../bench/statements.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { statementName } from '../../src/store/named-statements.js';
import { prepareStatement } from '../../src/store/prepared-statement.js';
import { findUser, upsertUser } from '../../src/users/profiles.js';
import { createTestSchema } from '../helpers/roost.js';

let builds = 0;
const sessionsOf = prepareStatement({ userId: 'text', since: 'timestamp', until: 'timestamp' }, (db, values) => {
  builds += 1;
  return db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', values.userId)
    .where('last_used_at', '>', values.since)
    .where('expires_at', '>', values.until)
    .where('rotations', '<', 20)
    .limit(5);
});

t.test("each call sends its own values where the markers were, and the code's constants as they were", async (t) => {
  const since = new Date('2026-01-01T00:00:00Z');
  const until = new Date('2026-02-01T00:00:00Z');
  const first = await recordStatements((db) => sessionsOf(db, { userId: 'a', since, until }));
  t.equal(first.length, 1);
  t.match(first[0]?.sql, /^select "id" from "sessions" where "user_id" = \$1 and "last_used_at" > \$2 and "expires_at" > \$3 and "rotations" < \$4 limit \$5$/);
  t.same(first[0]?.parameters, ['a', since, until, 20, 5]);
  t.equal(builds, 1);
});

t.test('built and compiled once per database handle', async (t) => {
  builds = 0;
  const later = new Date('2026-03-01T00:00:00Z');
  const recorded = await recordStatements(async (db) => {
    await sessionsOf(db, { userId: 'b', since: later, until: later });
    await sessionsOf(db, { userId: 'c', since: later, until: new Date(later.getTime() + 1) });
  });
  t.equal(builds, 1, 'a second call on the same handle builds nothing');
  t.same(recorded.map((statement) => statement.parameters), [
    ['b', later, later, 20, 5],
    ['c', later, new Date(later.getTime() + 1), 20, 5],
  ]);
  t.equal(recorded[0]?.sql, recorded[1]?.sql);
});

t.test('a builder that does not send a value it names is refused at its first call', async (t) => {
  const forgetful = prepareStatement({ userId: 'text', since: 'timestamp' }, (db, values) => db.selectFrom('sessions').select('id').where('user_id', '=', values.userId));
  let error: unknown;
  await recordStatements((db) => forgetful(db, { userId: 'a', since: new Date() }).catch((caught: unknown) => void (error = caught)));
  t.match(error, { message: 'the prepared statement sends no parameter for since' });
});

/** The named statements this connection holds (a pool of one: every query takes the same connection). */
async function preparedOnConnection(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db);
  return rows.map((row) => row.name);
}

t.test('on Postgres, a prepared statement is parsed once per connection under its name, and answers each call with its own values', async (t) => {
  const url = await createTestSchema(t);
  const db = await createDatabase({ databaseUrl: url, poolSize: 1, dataDir: '.data' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  const alice = await upsertUser(db, { twitterId: '101', screenName: 'alice', name: 'Alice', picture: null, email: null }, { protocol: 'oauth1', token: 's', secret: 's' });
  const bob = await upsertUser(db, { twitterId: '102', screenName: 'bob', name: 'Bob', picture: null, email: null }, { protocol: 'oauth1', token: 's', secret: 's' });
  t.same(await preparedOnConnection(db), [], 'nothing named before the first call');

  t.equal((await findUser(db, alice.id))?.screen_name, 'alice');
  const [text] = (await recordStatements((recording) => findUser(recording, alice.id))).map((statement) => statement.sql);
  const name = statementName(text as string);
  t.match(name, /^roost_[0-9a-f]{24}$/, 'the statement has a name');
  t.same(await preparedOnConnection(db), [name], 'Postgres holds it under that name');

  t.equal((await findUser(db, bob.id))?.screen_name, 'bob', 'the second call binds its own value');
  t.equal(await findUser(db, '00000000-0000-4000-8000-000000000000'), undefined);
  t.same(await preparedOnConnection(db), [name], 'and is not parsed again');

  const other = prepareStatement({ handle: 'text' }, (db, values) => db.selectFrom('users').select('id').where('screen_name', '=', values.handle));
  t.same((await other(db, { handle: 'bob' })).map((row) => row.id), [bob.id]);
  t.equal((await preparedOnConnection(db)).length, 2, 'another text has another name');
  const plain = await db.selectFrom('users').select('id').where('screen_name', '=', 'alice').execute();
  t.same(plain.map((row) => row.id), [alice.id]);
  t.equal((await preparedOnConnection(db)).length, 2, 'a query not prepared goes unnamed');
});

t.test('with prepared statements off (a pooler that cannot keep them), the same statements go unnamed', async (t) => {
  const url = await createTestSchema(t);
  const db = await createDatabase({ databaseUrl: url, poolSize: 1, dataDir: '.data', preparedStatements: false });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  const carol = await upsertUser(db, { twitterId: '103', screenName: 'carol', name: 'Carol', picture: null, email: null }, { protocol: 'oauth1', token: 's', secret: 's' });
  t.equal((await findUser(db, carol.id))?.screen_name, 'carol');
  t.equal((await findUser(db, carol.id))?.name, 'Carol');
  t.same(await preparedOnConnection(db), []);
});
