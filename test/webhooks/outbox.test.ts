// The outbox's statements on the real Postgres: a claim takes due rows only
// and leases them; replicas claiming at once never share a row; a result is
// recorded only by the claim that still owns the row; expired deliveries;
// the listing for the admin API and the oldest pending delivery.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { decodeCursor } from '../../src/audit/cursor.js';
import { newEventId } from '../../src/audit/event-id.js';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import {
  claimDueDeliveries,
  EXPIRED_ERROR,
  failExpiredDeliveries,
  findDelivery,
  insertDelivery,
  listDeliveries,
  oldestPendingDelivery,
  recordAttempt,
} from '../../src/webhooks/outbox.js';
import { createTestSchema } from '../helpers/roost.js';

const url = await createTestSchema(t);
const db = await createDatabase({ databaseUrl: url, poolSize: 4, dataDir: '.' });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const T0 = Date.UTC(2026, 3, 1);
const SECOND = 1000;
const clear = () => sql`delete from webhook_deliveries`.execute(db);

async function add(createdAtMs: number, type = 'sign_in.completed') {
  const id = newEventId(createdAtMs);
  await insertDelivery(db, { id, eventType: type, createdAt: new Date(createdAtMs), payload: `{"id":"${id}"}` });
  return id;
}
const claimAt = (nowMs: number, limit = 10, leaseMs = 30 * SECOND, maxAgeMs = 3600 * SECOND) =>
  claimDueDeliveries(db, { now: new Date(nowMs), leaseUntil: new Date(nowMs + leaseMs), expiredBy: new Date(nowMs - maxAgeMs), limit });

t.test('a claim takes due rows, oldest due first, and leases them', async (t) => {
  await clear();
  const a = await add(T0);
  const b = await add(T0 + SECOND);
  const later = await add(T0 + 10 * SECOND);
  const claimed = await claimAt(T0 + 5 * SECOND, 10);
  t.same(claimed.map((row) => row.id), [a, b], 'not the one due later');
  t.match(claimed[0], { id: a, eventType: 'sign_in.completed', createdAt: new Date(T0), payload: `{"id":"${a}"}`, attempt: 1 });
  const row = await findDelivery(db, a);
  t.match(row, { status: 'pending', attempts: 1, next_attempt_at: new Date(T0 + 35 * SECOND), last_attempt_at: new Date(T0 + 5 * SECOND) });
  t.same((await claimAt(T0 + 11 * SECOND)).map((r) => r.id), [later], 'leased rows are out of reach');
  t.same(await claimAt(T0 + 34 * SECOND), [], 'until the lease ends');
  const again = await claimAt(T0 + 35 * SECOND, 1);
  t.equal(again.length, 1, 'then another claim takes one, one row at a time when asked');
  t.ok(again[0]?.id === a || again[0]?.id === b);
  t.equal(again[0]?.attempt, 2);
});

t.test('only the claim that owns the row records its result', async (t) => {
  await clear();
  const id = await add(T0);
  const [first] = await claimAt(T0, 1, 1000);
  const [second] = await claimAt(T0 + 1000, 1, 1000);
  t.equal(first?.attempt, 1);
  t.equal(second?.attempt, 2);
  t.notOk(await recordAttempt(db, id, 1, { status: 'delivered', at: new Date(T0 + 1500), httpStatus: 200 }), 'the first claim outlived its lease');
  t.match(await findDelivery(db, id), { status: 'pending', delivered_at: null });
  t.ok(await recordAttempt(db, id, 2, { status: 'pending', nextAttemptAt: new Date(T0 + 9000), httpStatus: 503, error: 'the receiver answered 503' }));
  t.match(await findDelivery(db, id), { status: 'pending', attempts: 2, next_attempt_at: new Date(T0 + 9000), last_status: 503, last_error: 'the receiver answered 503' });
  const [third] = await claimAt(T0 + 9000, 1);
  t.ok(await recordAttempt(db, id, 3, { status: 'delivered', at: new Date(T0 + 9100), httpStatus: 204 }));
  t.match(await findDelivery(db, id), { status: 'delivered', attempts: 3, delivered_at: new Date(T0 + 9100), last_status: 204, last_error: null });
  t.notOk(await recordAttempt(db, id, third?.attempt as number, { status: 'failed', httpStatus: null, error: 'late' }), 'a finished delivery stays finished');
  t.same(await claimAt(T0 + 99_000), [], 'and is never claimed again');
});

t.test('replicas claiming at once never take the same row', async (t) => {
  await clear();
  const ids = await Promise.all(Array.from({ length: 120 }, (_, i) => add(T0 + i)));
  const replicas = await Promise.all([1, 2, 3].map(() => createDatabase({ databaseUrl: url, poolSize: 2, dataDir: '.' })));
  t.teardown(() => Promise.all(replicas.map((replica) => replica.destroy())));
  const taken: string[] = [];
  await Promise.all(
    [db, ...replicas].flatMap((replica) =>
      [1, 2].map(async () => {
        for (;;) {
          const claimed = await claimDueDeliveries(replica, { now: new Date(T0 + 5000), leaseUntil: new Date(T0 + 60_000), expiredBy: new Date(0), limit: 7 });
          if (claimed.length === 0) return;
          taken.push(...claimed.map((row) => row.id));
        }
      }),
    ),
  );
  t.equal(taken.length, 120, 'every row claimed once');
  t.same([...new Set(taken)].sort(), [...ids].sort());
});

t.test('deliveries past WEBHOOK_MAX_AGE are failed, not claimed', async (t) => {
  await clear();
  const maxAge = 3600 * SECOND;
  const leasedOld = await add(T0);
  const old = await add(T0 + 1);
  const fresh = await add(T0 + maxAge);
  t.same((await claimAt(T0 + 2, 1, 10 * maxAge)).map((row) => row.id), [leasedOld], 'leased far ahead');
  const now = T0 + maxAge + 10;
  t.same((await claimAt(now, 10, 1000, maxAge)).map((row) => row.id), [fresh], 'an expired row is not claimed');
  t.equal(await failExpiredDeliveries(db, { now: new Date(now), expiredBy: new Date(now - maxAge), limit: 10 }), 1);
  t.match(await findDelivery(db, old), { status: 'failed', last_error: EXPIRED_ERROR });
  t.match(await findDelivery(db, leasedOld), { status: 'pending' }, 'a leased one is left to its worker');
  t.equal(await failExpiredDeliveries(db, { now: new Date(now), expiredBy: new Date(now - maxAge), limit: 10 }), 0);
});

t.test('listing pending and failed deliveries, newest first, by cursor', async (t) => {
  await clear();
  const failed: string[] = [];
  for (let i = 0; i < 7; i += 1) {
    const id = await add(T0 + Math.floor(i / 2) * SECOND, i % 2 ? 'user.banned' : 'session.ended');
    await claimAt(T0 + 10 * SECOND, 1, 1);
    await recordAttempt(db, id, 1, { status: 'failed', httpStatus: 500, error: `the receiver answered 500 (${i})` });
    failed.push(id);
  }
  const pending = await add(T0 + 20 * SECOND);
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listDeliveries(db, { status: 'failed', limit: 3, ...(cursor ? { cursor: decodeCursor(cursor) } : {}) });
    pages.push(page.deliveries.map((delivery) => delivery.id));
    cursor = page.nextCursor;
  } while (cursor);
  const expected = [...failed].sort((a, b) => (a < b ? 1 : -1));
  t.same(pages.flat(), expected, 'every failed one once, newest first, ties in time ordered by id');
  t.same(pages.map((page) => page.length), [3, 3, 1]);
  const { deliveries } = await listDeliveries(db, { status: 'pending', limit: 10 });
  t.same(deliveries, [
    { id: pending, eventType: 'sign_in.completed', createdAt: new Date(T0 + 20 * SECOND), status: 'pending', attempts: 0, nextAttemptAt: new Date(T0 + 20 * SECOND), lastAttemptAt: null, lastStatus: null, lastError: null },
  ]);
  const [one] = (await listDeliveries(db, { status: 'failed', limit: 1 })).deliveries;
  t.match(one, { status: 'failed', attempts: 1, lastStatus: 500, lastError: /^the receiver answered 500/ });
  t.notOk('payload' in (one ?? {}), 'the listing leaves the payload out');
});

t.test('the oldest pending delivery', async (t) => {
  await clear();
  t.equal(await oldestPendingDelivery(db), undefined);
  const first = await add(T0);
  await add(T0 + 5000);
  t.same(await oldestPendingDelivery(db), new Date(T0));
  await claimAt(T0, 1);
  await recordAttempt(db, first, 1, { status: 'delivered', at: new Date(T0 + 1), httpStatus: 200 });
  t.same(await oldestPendingDelivery(db), new Date(T0 + 5000), 'delivered ones do not count');
  t.equal(await findDelivery(db, randomUUID()), undefined);
});
