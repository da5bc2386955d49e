// The benchmark's floor sends roost's own SQL: recorded from the query
// functions as compiled, each changing value turned into a named slot.
import t from 'tap';
import { parametersOf, recordStatements, templateOf } from '../../bench/statements.js';
import { findSessionByRefreshHash, findSessionState } from '../../src/sessions/queries.js';

t.test('records every statement a function sends, each answered with no rows', async (t) => {
  const statements = await recordStatements((db) => findSessionByRefreshHash(db, 'hash'));
  t.equal(statements.length, 2, 'the live token, then the spent ones');
  t.match(statements[0], { sql: /from "sessions" where "refresh_hash" = \$1/, parameters: ['hash'] });
  t.match(statements[1], { sql: /from "spent_refresh_tokens"/, parameters: ['hash'] });
});

t.test('a template names the slots of its sentinels and keeps the constants', async (t) => {
  const now = new Date(1_000_000_000_000);
  const template = templateOf({ sql: 'select $1, $2, $3, $4', parameters: ['\0id', 20, new Date(now.getTime()), '\0id'] }, { id: '\0id', now });
  t.same(template.slots, [{ name: 'id' }, { value: 20 }, { name: 'now' }, { name: 'id' }]);
  const later = new Date();
  t.same(parametersOf(template, { id: 'abc', now: later }), ['abc', 20, later, 'abc']);
  t.throws(() => parametersOf(template, { id: 'abc' }), /no value for now/);
});

t.test('a sentinel the statement does not take is an error, naming it', async (t) => {
  const [statement] = await recordStatements((db) => findSessionState(db, '\0sessionId'));
  t.ok(statement);
  t.doesNotThrow(() => templateOf(statement!, { sessionId: '\0sessionId' }));
  t.throws(() => templateOf(statement!, { sessionId: '\0sessionId', userId: '\0userId' }), /takes no parameter for userId/);
});
