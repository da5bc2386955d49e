// Listing the audit log on the real Postgres: newest first, filtered by user,
// type and time, page after page by cursor without a row lost or repeated
// (ties in time included), and the indexes the listings use.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { decodeCursor } from '../../src/audit/cursor.js';
import { newEventId } from '../../src/audit/event-id.js';
import type { AuditEventType } from '../../src/audit/events.js';
import { listAuditEvents, MAX_PAGE, type AuditQuery } from '../../src/audit/queries.js';
import { createAuditWriter } from '../../src/audit/writer.js';
import * as migration from '../../migrations/0007_audit_and_webhooks.js';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { createTestSchema } from '../helpers/roost.js';

const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.' });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
let clock = T0;
const audit = createAuditWriter({
  now: () => clock,
  webhooks: false,
  onWriteFailed: (error) => {
    throw error;
  },
  onDetailRefused: () => undefined,
});

const alice = randomUUID();
const bob = randomUUID();
const types: AuditEventType[] = ['sign_in.completed', 'session.ended', 'user.banned'];
// 60 events a minute apart, three of them at each minute from 40 on (ties in time).
const recorded: Array<{ id: string; at: number; type: string; userId: string }> = [];
for (let i = 0; i < 60; i += 1) {
  clock = T0 + Math.min(i, 40 + Math.floor((i - 40) / 3)) * MINUTE;
  const type = types[i % 3] as AuditEventType;
  const userId = i % 2 === 0 ? alice : bob;
  const event = await audit.record(db, { type, userId, detail: { n: i } });
  recorded.push({ id: event?.id as string, at: clock, type, userId });
}
const newestFirst = [...recorded].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));

/** Every page of a query, followed by its cursors. */
async function walk(query: Omit<AuditQuery, 'cursor'>) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listAuditEvents(db, { ...query, ...(cursor ? { cursor: decodeCursor(cursor) } : {}) });
    pages.push(page.events.map((event) => event.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 100);
  return pages;
}

t.test('newest first, page by page, nothing lost or repeated', async (t) => {
  const pages = await walk({ limit: 7 });
  t.same(pages.flat(), newestFirst.map((event) => event.id));
  t.equal(pages.length, 9, 'eight full pages and one of four');
  t.same(pages.map((page) => page.length), [7, 7, 7, 7, 7, 7, 7, 7, 4]);
  const exact = await walk({ limit: 20 });
  t.same(exact.map((page) => page.length), [20, 20, 20], 'a last page that is full has no cursor after it');
});

t.test('an event as listed', async (t) => {
  const [first] = (await listAuditEvents(db, { limit: 1 })).events;
  const newest = newestFirst[0];
  t.same(first, {
    id: newest?.id,
    occurredAt: new Date(newest?.at as number),
    type: newest?.type,
    userId: newest?.userId,
    sessionId: null,
    ip: null,
    userAgent: null,
    outcome: 'success',
    detail: { n: recorded.findIndex((event) => event.id === newest?.id) },
  });
});

t.test('filters', async (t) => {
  const expect = (keep: (event: (typeof recorded)[number]) => boolean) => newestFirst.filter(keep).map((event) => event.id);
  t.same((await walk({ limit: 8, userId: alice })).flat(), expect((event) => event.userId === alice), 'by user');
  t.same((await walk({ limit: 8, type: 'session.ended' })).flat(), expect((event) => event.type === 'session.ended'), 'by type');
  t.same((await walk({ limit: 3, userId: bob, type: 'user.banned' })).flat(), expect((event) => event.userId === bob && event.type === 'user.banned'), 'by both');
  const since = new Date(T0 + 10 * MINUTE);
  const until = new Date(T0 + 41 * MINUTE);
  t.same((await walk({ limit: 5, since, until })).flat(), expect((event) => event.at >= since.getTime() && event.at < until.getTime()), 'since is inclusive, until exclusive');
  t.same((await walk({ limit: 5, userId: randomUUID() })).flat(), [], 'nobody\'s');
  t.same((await walk({ limit: 5, type: 'no.such' })).flat(), []);
});

t.test('limits', async (t) => {
  t.equal((await listAuditEvents(db, { limit: 0 })).events.length, 1, 'at least one');
  t.equal((await listAuditEvents(db, { limit: 2.7 })).events.length, 2);
  t.ok(MAX_PAGE >= 60);
  t.equal((await listAuditEvents(db, { limit: 10_000 })).events.length, 60, 'at most MAX_PAGE');
});

t.test('a row of a type this version does not know is left out', async (t) => {
  const id = newEventId(T0 + 100 * MINUTE);
  await sql`insert into audit_events (id, occurred_at, type, outcome) values (${id}, ${new Date(T0 + 100 * MINUTE)}, 'future.event', 'success')`.execute(db);
  t.teardown(() => sql`delete from audit_events where id = ${id}`.execute(db));
  const page = await listAuditEvents(db, { limit: 2 });
  t.same(page.events.map((event) => event.id), [newestFirst[0]?.id]);
});

t.test('the listings use the indexes', async (t) => {
  await db.connection().execute(async (connection) => {
    // Planner statistics would otherwise favour scanning so small a table whole.
    await sql`set enable_seqscan = off`.execute(connection);
    await sql`set enable_bitmapscan = off`.execute(connection);
    const plan = async (query: ReturnType<typeof sql>) => (await query.execute(connection)).rows.map((row) => Object.values(row as object)[0]).join('\n');
    const cursorTime = new Date(T0 + 30 * MINUTE);
    const cursorId = newEventId(T0);
    t.match(await plan(sql`explain select * from audit_events where (occurred_at, id) < (${cursorTime}, ${cursorId}) order by occurred_at desc, id desc limit 8`), /Index Scan Backward using audit_events_occurred_at /);
    t.match(await plan(sql`explain select * from audit_events where user_id = ${alice} and (occurred_at, id) < (${cursorTime}, ${cursorId}) order by occurred_at desc, id desc limit 8`), /Index Scan Backward using audit_events_user_id_occurred_at /);
    t.match(await plan(sql`explain select * from audit_events where type = 'user.banned' order by occurred_at desc, id desc limit 8`), /Index Scan Backward using audit_events_type_occurred_at /);
    t.match(await plan(sql`explain select id from webhook_deliveries where status = 'pending' and next_attempt_at <= now() order by next_attempt_at limit 4`), /Index Scan using webhook_deliveries_status_next_attempt_at /);
    t.match(await plan(sql`explain select * from webhook_deliveries where status = 'failed' order by created_at desc, id desc limit 4`), /Index Scan Backward using webhook_deliveries_status_created_at /);
    await sql`reset enable_seqscan`.execute(connection);
    await sql`reset enable_bitmapscan`.execute(connection);
  });
});

t.test('the migration goes down and up again', async (t) => {
  const scratch = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 1, dataDir: '.' });
  t.teardown(() => scratch.destroy());
  await migrateToLatest(scratch);
  const scratchTables = async () => (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name in ('audit_events', 'webhook_deliveries') order by 1`.execute(scratch)).rows.map((row) => row.name);
  t.same(await scratchTables(), ['audit_events', 'webhook_deliveries']);
  await migration.down(scratch as never);
  t.same(await scratchTables(), []);
  await migration.up(scratch as never);
  t.same(await scratchTables(), ['audit_events', 'webhook_deliveries']);
});
