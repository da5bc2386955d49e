// The purge of the audit log: its schedule and stopping with fake timers,
// then the real statements on the real Postgres (what goes and what stays,
// batches, purges racing each other) and a failing database.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import t from 'tap';
import { purgeExpiredAudit, startAuditPurge, type AuditPurgeOptions, type Schedule } from '../../src/audit/purge.js';
import { deleteExpiredAuditRows, type ExpiredRows } from '../../src/audit/queries.js';
import { createAuditWriter } from '../../src/audit/writer.js';
import { createLogger } from '../../src/ops/logger.js';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { recordAttempt } from '../../src/webhooks/outbox.js';
import { createTestSchema } from '../helpers/roost.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 5, 1);

function fakeSchedule() {
  const timers: Array<{ run: () => void; delayMs: number; cancelled: boolean }> = [];
  const schedule: Schedule = (run, delayMs) => {
    const timer = { run, delayMs, cancelled: false };
    timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  };
  return { schedule, timers, fire: () => timers.at(-1)?.run() };
}

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

function purgeOptions(overrides: Partial<AuditPurgeOptions>): AuditPurgeOptions {
  return {
    deleteBatch: async () => ({ events: 0, deliveries: 0 }),
    now: () => T0,
    retentionSeconds: 90 * 86400,
    intervalMs: HOUR,
    logger: captureLogs().logger,
    random: () => 0.5,
    ...overrides,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('the schedule: jittered, the cutoff from the clock, again after a failure', async (t) => {
  const timers = fakeSchedule();
  const cutoffs: Date[] = [];
  const runs: Array<[string, ExpiredRows]> = [];
  let fail = true;
  const { logger, lines } = captureLogs();
  const purge = startAuditPurge(
    purgeOptions({
      schedule: timers.schedule,
      random: () => 0,
      logger,
      onRun: (outcome, purged) => runs.push([outcome, purged]),
      deleteBatch: async (cutoff) => {
        cutoffs.push(cutoff);
        if (fail) throw new Error('connection terminated');
        return { events: 3, deliveries: 1 };
      },
    }),
  );
  t.equal(timers.timers[0]?.delayMs, HOUR * 0.1, 'the first run a tenth of an interval after start at the earliest');
  timers.fire();
  await tick();
  t.same(cutoffs, [new Date(T0 - 90 * DAY)], 'AUDIT_RETENTION before the injected clock');
  t.same(runs, [['failed', { events: 0, deliveries: 0 }]]);
  t.match(lines, [{ level: 40, msg: 'expired audit events could not be purged; the next run tries again', err: { message: 'connection terminated' } }]);
  t.equal(timers.timers[1]?.delayMs, HOUR * 0.5, 'a failed run does not stop the schedule');
  fail = false;
  timers.fire();
  await tick();
  t.same(runs[1], ['ok', { events: 3, deliveries: 1 }]);
  t.match(lines[1], { level: 30, msg: 'expired audit events purged', events: 3, deliveries: 1 });
  await purge.close();
  t.ok(timers.timers.at(-1)?.cancelled, 'close cancels the pending timer');
  t.same(await purge.run(), { events: 0, deliveries: 0 }, 'a run after close sends nothing');
  t.equal(cutoffs.length, 2);
});

t.test('no timer with interval 0; close waits for the batch in flight', async (t) => {
  const timers = fakeSchedule();
  let release!: (rows: ExpiredRows) => void;
  let batches = 0;
  const purge = startAuditPurge(
    purgeOptions({
      intervalMs: 0,
      schedule: timers.schedule,
      batchSize: 2,
      deleteBatch: () => {
        batches += 1;
        return new Promise((resolve) => (release = resolve));
      },
    }),
  );
  t.equal(timers.timers.length, 0);
  const running = purge.run();
  t.equal(purge.run(), running, 'a call during a run shares it');
  await tick();
  release({ events: 2, deliveries: 0 });
  await tick();
  t.equal(batches, 2, 'a full batch of either kind is followed by another');
  let closed = false;
  const closing = purge.close().then(() => (closed = true));
  await tick();
  t.notOk(closed, 'close waits for the statement in flight');
  release({ events: 0, deliveries: 2 });
  await closing;
  t.same(await running, { events: 2, deliveries: 2 });
  t.equal(batches, 2, 'no batch after close, though the last one was full');
});

t.test('purgeExpiredAudit: until both kinds come back short', async (t) => {
  const answers: ExpiredRows[] = [
    { events: 5, deliveries: 1 },
    { events: 2, deliveries: 5 },
    { events: 0, deliveries: 4 },
  ];
  const limits: number[] = [];
  const total = await purgeExpiredAudit(
    async (_cutoff, limit) => {
      limits.push(limit);
      return answers.shift() ?? { events: 0, deliveries: 0 };
    },
    new Date(T0),
    { batchSize: 5 },
  );
  t.same(total, { events: 7, deliveries: 10 });
  t.same(limits, [5, 5, 5]);
});

t.test('on the real Postgres', async (t) => {
  const url = await createTestSchema(t);
  const db = await createDatabase({ databaseUrl: url, poolSize: 2, dataDir: '.' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  let clock = T0;
  const audit = createAuditWriter({ now: () => clock, webhooks: true, onWriteFailed: (error) => t.fail(String(error)), onDetailRefused: () => undefined });
  const record = async (at: number, delivery: 'pending' | 'delivered' | 'failed') => {
    clock = at;
    const event = await audit.record(db, { type: 'sign_in.completed', userId: randomUUID() });
    const id = event?.id as string;
    if (delivery !== 'pending') {
      await sql`update webhook_deliveries set attempts = 1 where id = ${id}`.execute(db);
      await recordAttempt(db, id, 1, delivery === 'delivered' ? { status: 'delivered', at: new Date(at), httpStatus: 200 } : { status: 'failed', httpStatus: 500, error: 'x' });
    }
    return id;
  };
  const now = T0 + 100 * DAY;
  const retention = 90 * DAY;
  const old = [await record(now - retention - DAY, 'delivered'), await record(now - retention, 'failed')];
  const oldPending = await record(now - retention - HOUR, 'pending');
  const recent = [await record(now - retention + 1, 'delivered'), await record(now - DAY, 'failed'), await record(now - HOUR, 'pending')];
  const all = [...old, oldPending, ...recent];
  const remaining = async (table: 'audit_events' | 'webhook_deliveries') =>
    (await sql<{ id: string }>`select id from ${sql.table(table)} where id = any(${all}::uuid[]) order by id`.execute(db)).rows.map((row) => row.id);

  const purge = startAuditPurge({ deleteBatch: (cutoff, limit) => deleteExpiredAuditRows(db, cutoff, limit), now: () => now, retentionSeconds: retention / 1000, intervalMs: 0, logger: captureLogs().logger });
  t.teardown(() => purge.close());
  t.same(await purge.run(), { events: 3, deliveries: 2 });
  t.same(await remaining('audit_events'), [...recent].sort(), 'events at or before the cutoff go');
  t.same(await remaining('webhook_deliveries'), [oldPending, ...recent].sort(), 'finished deliveries of that age go; a pending one stays for its worker');
  t.same(await purge.run(), { events: 0, deliveries: 0 }, 'a second run finds nothing');

  t.test('each batch deletes at most its limit', async (t) => {
    await Promise.all(Array.from({ length: 5 }, (_, i) => record(now - retention - DAY - i, 'delivered')));
    const sizes: ExpiredRows[] = [];
    await purgeExpiredAudit(
      async (cutoff, limit) => {
        const deleted = await deleteExpiredAuditRows(db, cutoff, limit);
        sizes.push(deleted);
        return deleted;
      },
      new Date(now - retention),
      { batchSize: 2 },
    );
    t.same(sizes, [{ events: 2, deliveries: 2 }, { events: 2, deliveries: 2 }, { events: 1, deliveries: 1 }]);
  });

  t.test('in batches, several replicas at once', async (t) => {
    const ids = await Promise.all(Array.from({ length: 45 }, (_, i) => record(now - retention - DAY - i, i % 2 ? 'delivered' : 'failed')));
    const replicas = await Promise.all([1, 2].map(() => createDatabase({ databaseUrl: url, poolSize: 2, dataDir: '.' })));
    t.teardown(() => Promise.all(replicas.map((replica) => replica.destroy())));
    const results = await Promise.all(
      [db, ...replicas].flatMap((replica) => [1, 2].map(() => purgeExpiredAudit((cutoff, limit) => deleteExpiredAuditRows(replica, cutoff, limit), new Date(now - retention), { batchSize: 4 }))),
    );
    t.equal(results.reduce((sum, r) => sum + r.events, 0), 45, 'every event deleted exactly once');
    t.equal(results.reduce((sum, r) => sum + r.deliveries, 0), 45, 'and every delivery');
    t.same((await sql`select id from audit_events where id = any(${ids}::uuid[])`.execute(db)).rows, []);
  });
});

t.test('a purge whose database fails rejects, is logged and reported', async (t) => {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 1, dataDir: '.' });
  t.teardown(() => db.destroy());
  const { logger, lines } = captureLogs();
  const runs: string[] = [];
  const purge = startAuditPurge(purgeOptions({ deleteBatch: (cutoff, limit) => deleteExpiredAuditRows(db, cutoff, limit), intervalMs: 0, logger, onRun: (outcome) => runs.push(outcome) }));
  await t.rejects(purge.run(), { code: 'database_unavailable' });
  t.same(runs, ['failed']);
  t.match(lines, [{ level: 40, err: { code: 'database_unavailable', stack: /relation "audit_events" does not exist/ } }]);
  t.notMatch(JSON.stringify(lines), /20\d\d-\d\d-\d\dT/, 'no statement parameters in the log');
  await purge.close();
});
