// Recording audit events on the real Postgres: the event and its webhook
// delivery are written together or not at all, inside the caller's
// transaction or in one of their own, and a failed write never fails the
// caller: it is reported, and the caller's transaction goes on.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { newEventId } from '../../src/audit/event-id.js';
import { createAuditWriter, type AuditWriterOptions } from '../../src/audit/writer.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { freePort, createTestSchema } from '../helpers/roost.js';

const url = await createTestSchema(t);
const db = await createDatabase({ databaseUrl: url, poolSize: 4, dataDir: '.' });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0, 250);

function writer(overrides: Partial<AuditWriterOptions> = {}) {
  const failures: Array<{ error: unknown; type: string }> = [];
  const refusals: Array<{ type: string; refused: unknown }> = [];
  let queued = 0;
  const audit = createAuditWriter({
    now: () => T0,
    webhooks: true,
    onWriteFailed: (error, type) => failures.push({ error, type }),
    onDetailRefused: (type, refused) => refusals.push({ type, refused }),
    onDeliveryQueued: () => (queued += 1),
    ...overrides,
  });
  return { audit, failures, refusals, queued: () => queued };
}

const eventRows = (id: string) => sql<Record<string, unknown>>`select * from audit_events where id = ${id}`.execute(db).then((r) => r.rows);
const deliveryRows = (id: string) => sql<Record<string, unknown>>`select * from webhook_deliveries where id = ${id}`.execute(db).then((r) => r.rows);

t.test('an event and its delivery', async (t) => {
  const { audit, failures, refusals, queued } = writer();
  const userId = randomUUID();
  const sessionId = randomUUID();
  const event = await audit.record(db, {
    type: 'session.ended',
    userId,
    sessionId,
    ip: '203.0.113.7',
    userAgent: `Mozilla/5.0 ${'x'.repeat(600)}`,
    detail: { reason: 'logout', refresh_token: 'never stored' },
  });
  t.ok(event);
  const id = event?.id as string;
  t.match(id, /^[0-9a-f-]{14}7/, 'a UUIDv7');
  t.same(failures, []);
  t.same(refusals, [{ type: 'session.ended', refused: [{ key: 'refresh_token', why: 'secret_key' }] }], 'a refused key is reported by name');
  t.equal(queued(), 1, 'the worker is told once it is committed');

  const [row] = await eventRows(id);
  t.match(row, { type: 'session.ended', user_id: userId, session_id: sessionId, ip: '203.0.113.7', outcome: 'success', detail: { reason: 'logout' } });
  t.equal((row?.occurred_at as Date).getTime(), T0, 'the injected clock, to the millisecond');
  t.equal((row?.user_agent as string).length, 512, 'the user agent is cut to 512 characters');
  t.notMatch(JSON.stringify(row), /never stored/);

  const [delivery] = await deliveryRows(id);
  t.match(delivery, { event_type: 'session.ended', status: 'pending', attempts: 0, last_error: null });
  t.equal((delivery?.next_attempt_at as Date).getTime(), T0, 'due at once');
  t.same(JSON.parse(delivery?.payload as string), {
    type: 'session.ended',
    timestamp: new Date(T0).toISOString(),
    data: {
      id,
      type: 'session.ended',
      occurred_at: new Date(T0).toISOString(),
      user_id: userId,
      session_id: sessionId,
      ip: '203.0.113.7',
      user_agent: row?.user_agent,
      outcome: 'success',
      detail: { reason: 'logout' },
    },
  });
  t.notMatch(delivery?.payload as string, /never stored/);
});

t.test('defaults: outcome by type, empty detail, no client', async (t) => {
  const { audit } = writer({ webhooks: false });
  const failed = await audit.record(db, { type: 'sign_in.failed', detail: { reason: 'twitter_unavailable' } });
  t.match(failed, { outcome: 'failure', userId: null, sessionId: null, ip: null, userAgent: null, detail: { reason: 'twitter_unavailable' } });
  const admin = await audit.record(db, { type: 'admin.action', outcome: 'failure' });
  t.match(admin, { outcome: 'failure', detail: {} });
  t.same(await deliveryRows(failed?.id as string), [], 'no webhook configured: no delivery');
  t.equal((await eventRows(admin?.id as string)).length, 1);
});

t.test('inside the caller\'s transaction: committed and rolled back with it', async (t) => {
  const { audit, queued } = writer();
  let committed = '';
  await db.transaction().execute(async (trx) => {
    committed = (await audit.record(trx, { type: 'user.banned', userId: randomUUID(), detail: { reason: 'spam' } }))?.id as string;
    t.equal((await eventRows(committed)).length, 0, 'not seen outside before the commit');
  });
  t.equal((await eventRows(committed)).length, 1);
  t.equal((await deliveryRows(committed)).length, 1);

  let rolledBack = '';
  await t.rejects(
    db.transaction().execute(async (trx) => {
      rolledBack = (await audit.record(trx, { type: 'user.unbanned', userId: randomUUID() }))?.id as string;
      t.ok(rolledBack, 'recorded in the transaction');
      throw new Error('the ban could not be lifted');
    }),
    /could not be lifted/,
  );
  t.same(await eventRows(rolledBack), [], 'a failing transaction leaves no event');
  t.same(await deliveryRows(rolledBack), [], 'and no delivery');
  t.equal(queued(), 2, 'told twice (a worker that looks early finds nothing and looks again later)');
});

t.test('the event without its delivery is never written', async (t) => {
  // A delivery with the id the next event will get: the second insert fails after the first succeeded.
  const id = newEventId(T0);
  await sql`insert into webhook_deliveries (id, event_type, created_at, payload, status, next_attempt_at) values (${id}, 'x', now(), '{}', 'failed', now())`.execute(db);

  const own = writer({ newId: () => id });
  t.equal(await own.audit.record(db, { type: 'account.deleted', userId: randomUUID() }), undefined, 'resolves, never rejects');
  t.equal(own.failures.length, 1);
  t.match(own.failures[0], { type: 'account.deleted', error: { code: '23505' } });
  t.same(await eventRows(id), [], 'its own transaction: neither row');
  t.equal(own.queued(), 0);

  let taken = false;
  const inside = writer({ newId: (nowMs) => (taken ? newEventId(nowMs) : ((taken = true), id)) });
  const userId = randomUUID();
  await db.transaction().execute(async (trx) => {
    t.equal(await inside.audit.record(trx, { type: 'account.deleted', userId }), undefined);
    // The caller's transaction is still usable: the failure was rolled back to the savepoint.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(trx);
    t.same(rows, [{ one: 1 }]);
    await inside.audit.record(trx, { type: 'admin.action', userId, detail: { action: 'after' } });
  });
  t.equal(inside.failures.length, 1);
  t.same(await eventRows(id), [], 'inside a transaction: neither row');
  const after = await sql<{ type: string }>`select type from audit_events where user_id = ${userId}`.execute(db);
  t.same(after.rows, [{ type: 'admin.action' }], 'the caller\'s later work in the same transaction is kept');
});

t.test('an unknown type is reported, not written', async (t) => {
  const { audit, failures } = writer();
  t.equal(await audit.record(db, { type: 'refresh.completed' as never }), undefined);
  t.match(failures, [{ type: 'unknown', error: { message: 'unknown audit event type "refresh.completed"' } }]);
});

t.test('a database that is away: reported quickly, the caller goes on', async (t) => {
  const port = await freePort();
  const away: Db = await createDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test`, poolSize: 1, dataDir: '.', timeoutMs: 500 });
  t.teardown(() => away.destroy());
  const { audit, failures } = writer();
  const started = Date.now();
  t.equal(await audit.record(away, { type: 'sign_in.completed', userId: randomUUID() }), undefined);
  t.ok(Date.now() - started < 2500, 'within the connection timeout');
  t.match(failures, [{ type: 'sign_in.completed', error: { code: 'ECONNREFUSED' } }]);
});
