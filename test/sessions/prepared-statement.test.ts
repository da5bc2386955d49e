// A statement compiled once per database handle sends each call's values in
// place of the markers it was built with, keeps the code's constants, and
// refuses a builder that does not send every value it names.
import t from 'tap';
import { recordStatements } from '../../bench/statements.js';
import { prepareStatement } from '../../src/sessions/prepared-statement.js';

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
