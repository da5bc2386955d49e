// The purge of ended sessions: the schedule and its stopping with fake
// timers, then the real statements on the real Postgres (which sessions go,
// their spent tokens with them, batches, purges racing each other) and what
// a refresh token of a purged session gets at POST /token.
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import t from 'tap';
import { createDatabase } from '../../src/store/db.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { hashRefreshToken, newRefreshToken } from '../../src/sessions/refresh-tokens.js';
import { purgeCutoffs, type PurgeCutoffs } from '../../src/sessions/policy.js';
import { purgeEndedSessions, startSessionPurge, type Schedule, type SessionPurgeOptions } from '../../src/sessions/purge.js';
import { deleteEndedSessions, insertSession } from '../../src/sessions/queries.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { parsePrometheus, sampleKey } from '../helpers/prometheus.js';
import { createTestSchema, startRoost } from '../helpers/roost.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** A schedule whose timers fire only when the test says so. */
function fakeSchedule() {
  const timers: Array<{ run: () => void; delayMs: number; cancelled: boolean }> = [];
  const schedule: Schedule = (run, delayMs) => {
    const timer = { run, delayMs, cancelled: false };
    timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  };
  return { schedule, timers, fire: () => timers.at(-1)?.run() };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
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

async function samples(metrics: ReturnType<typeof createMetrics>) {
  return parsePrometheus(await metrics.registry.metrics());
}

function purgeOptions(overrides: Partial<SessionPurgeOptions>): SessionPurgeOptions & { metrics: ReturnType<typeof createMetrics> } {
  return {
    deleteBatch: async () => 0,
    now: () => Date.UTC(2026, 0, 1),
    idleSeconds: 3600,
    retentionSeconds: 86400,
    intervalMs: HOUR,
    logger: captureLogs().logger,
    metrics: createMetrics(),
    random: () => 0.5,
    ...overrides,
  } as SessionPurgeOptions & { metrics: ReturnType<typeof createMetrics> };
}

t.test('the schedule: jittered, one run at a time, again after a failure', async (t) => {
  const timers = fakeSchedule();
  const calls: PurgeCutoffs[] = [];
  let fail = true;
  const { logger, lines } = captureLogs();
  const options = purgeOptions({
    schedule: timers.schedule,
    random: () => 0,
    logger,
    deleteBatch: async (cutoffs) => {
      calls.push(cutoffs);
      if (fail) throw new Error('connection terminated');
      return 3;
    },
  });
  const purge = startSessionPurge(options);
  t.equal(timers.timers.length, 1, 'armed at start');
  t.equal(timers.timers[0]?.delayMs, HOUR * 0.1, 'the first run a tenth of an interval after start at the earliest');
  t.equal(calls.length, 0, 'nothing runs at start');

  timers.fire();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(calls.length, 1);
  t.same(calls[0], purgeCutoffs(Date.UTC(2026, 0, 1), { idleSeconds: 3600, retentionSeconds: 86400 }), 'cutoffs from the injected clock');
  t.equal((await samples(options.metrics)).get(sampleKey('roost_session_purges_total', { outcome: 'failed' })), 1, 'the failure is counted');
  const warning = lines.find((line) => line.msg === 'ended sessions could not be purged; the next run tries again');
  t.match(warning, { level: 40, err: { message: 'connection terminated' } }, 'and logged');
  t.equal(timers.timers.length, 2, 'a failed run does not stop the schedule');
  t.equal(timers.timers[1]?.delayMs, HOUR * 0.5, 'the next one 0.5 to 1.5 intervals later');

  fail = false;
  timers.fire();
  await new Promise((resolve) => setImmediate(resolve));
  const after = await samples(options.metrics);
  t.equal(after.get(sampleKey('roost_session_purges_total', { outcome: 'ok' })), 1);
  t.equal(after.get('roost_sessions_purged_total'), 3, 'a short batch ends the run');
  t.match(lines.at(-1), { level: 30, msg: 'ended sessions purged', purged: 3 });
  t.equal(timers.timers.length, 3);
  await purge.close();
  t.ok(timers.timers[2]?.cancelled, 'close cancels the pending timer');
});

t.test('random 1 gives the longest waits', async (t) => {
  const timers = fakeSchedule();
  startSessionPurge(purgeOptions({ schedule: timers.schedule, random: () => 0.999 }));
  t.ok(Math.abs((timers.timers[0]?.delayMs ?? 0) - HOUR * 0.9991) < 1);
  timers.fire();
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(Math.abs((timers.timers[1]?.delayMs ?? 0) - HOUR * 1.499) < 1);
});

t.test('SESSION_PURGE_INTERVAL=0: no timer, runs only when called', async (t) => {
  const timers = fakeSchedule();
  let calls = 0;
  const purge = startSessionPurge(
    purgeOptions({
      intervalMs: 0,
      schedule: timers.schedule,
      deleteBatch: async () => {
        calls += 1;
        return 0;
      },
    }),
  );
  t.equal(timers.timers.length, 0);
  t.equal(await purge.run(), 0);
  t.equal(calls, 1);
});

t.test('close waits for the batch in progress, then no query and no timer', async (t) => {
  const timers = fakeSchedule();
  const batches: Array<ReturnType<typeof deferred<number>>> = [];
  const purge = startSessionPurge(
    purgeOptions({
      schedule: timers.schedule,
      batchSize: 10,
      deleteBatch: () => {
        batches.push(deferred<number>());
        return (batches.at(-1) as ReturnType<typeof deferred<number>>).promise;
      },
    }),
  );
  const first = purge.run();
  t.equal(purge.run(), first, 'a call during a run shares it');
  await new Promise((resolve) => setImmediate(resolve));
  (batches[0] as ReturnType<typeof deferred<number>>).resolve(10);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(batches.length, 2, 'a full batch is followed by another');

  let closed = false;
  const closing = purge.close().then(() => (closed = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(closed, 'close waits for the statement in flight');
  (batches[1] as ReturnType<typeof deferred<number>>).resolve(10);
  await closing;
  t.equal(await first, 20);
  t.equal(batches.length, 2, 'no batch after close, though the last one was full');
  t.equal(await purge.run(), 0, 'a run after close sends nothing');
  t.equal(batches.length, 2);
  t.ok(timers.timers.every((timer) => timer.cancelled), 'no timer left');
});

t.test('purgeEndedSessions: batch after batch until a short one', async (t) => {
  const sizes: number[] = [];
  const remaining = [5, 5, 2];
  const deleteBatch = async (_cutoffs: PurgeCutoffs, limit: number) => {
    sizes.push(limit);
    return remaining.shift() ?? 0;
  };
  t.equal(await purgeEndedSessions(deleteBatch, purgeCutoffs(0, { idleSeconds: 1, retentionSeconds: 1 }), { batchSize: 5 }), 12);
  t.same(sizes, [5, 5, 5]);
});

t.test('on the real Postgres', async (t) => {
  let clock = Date.now();
  const roost = await startRoost(t, {
    now: () => clock,
    // Without a timer of its own: the test decides when a purge runs.
    env: { SESSION_TTL: String(2 * 86400), SESSION_IDLE_TTL: '3600', SESSION_RETENTION: '86400', SESSION_PURGE_INTERVAL: '0' },
  });
  const { db } = roost.deps;
  const times = { idleSeconds: 3600, retentionSeconds: 86400 };
  const userId = decodeJwt(fragmentOf((await signIn(new Browser(), roost)).location).get('access_token') as string).sub as string;

  /** A session with the given times and two spent refresh tokens. */
  async function addSession(shape: { createdAt: number; expiresAt?: number; lastUsedAt?: number; revokedAt?: number }): Promise<string> {
    const session = await insertSession(db, {
      userId,
      refreshHash: hashRefreshToken(newRefreshToken()),
      nowMs: shape.createdAt,
      ttlSeconds: ((shape.expiresAt ?? shape.createdAt + 2 * DAY) - shape.createdAt) / 1000,
      userAgent: null,
      ip: null,
    });
    const id = session?.id as string;
    await db
      .updateTable('sessions')
      .set({
        last_used_at: new Date(shape.lastUsedAt ?? shape.createdAt),
        ...(shape.revokedAt !== undefined ? { revoked_at: new Date(shape.revokedAt), revoked_reason: 'logout' } : {}),
      })
      .where('id', '=', id)
      .execute();
    await db
      .insertInto('spent_refresh_tokens')
      .values([1, 2].map((n) => ({ hash: hashRefreshToken(newRefreshToken()), session_id: id, spent_at: new Date(shape.createdAt + n) })))
      .execute();
    return id;
  }
  const ids = (rows: Array<{ id: string } | { session_id: string }>) => rows.map((row) => ('id' in row ? row.id : row.session_id));
  const remainingSessions = async (among: string[]) => ids(await db.selectFrom('sessions').select('id').where('id', 'in', among).execute()).sort();
  const remainingSpent = async (among: string[]) => [...new Set(ids(await db.selectFrom('spent_refresh_tokens').select('session_id').where('session_id', 'in', among).execute()))].sort();

  t.test('only sessions that ended more than the retention ago go, with their spent tokens', async (t) => {
    const now = clock;
    const gone = {
      expired: await addSession({ createdAt: now - 4 * DAY + HOUR, expiresAt: now - DAY - HOUR, lastUsedAt: now - DAY - 1.5 * HOUR }),
      idle: await addSession({ createdAt: now - 2 * DAY, lastUsedAt: now - DAY - 2 * HOUR }),
      // Neither idle nor expired the retention ago: revoked is what counts.
      revokedLongAgo: await addSession({ createdAt: now - 1.5 * DAY, lastUsedAt: now - DAY - HOUR / 2, revokedAt: now - DAY - HOUR / 6 }),
      revokedExactlyTheRetentionAgo: await addSession({ createdAt: now - 1.5 * DAY, lastUsedAt: now - DAY - 60_000, revokedAt: now - DAY }),
    };
    const kept = {
      live: await addSession({ createdAt: now - 3 * DAY / 2, lastUsedAt: now - 60_000 }),
      revokedRecently: await addSession({ createdAt: now - 2 * DAY + HOUR, lastUsedAt: now - 2 * HOUR, revokedAt: now - 2 * HOUR }),
      expiredRecently: await addSession({ createdAt: now - 3 * DAY, expiresAt: now - DAY + 1000, lastUsedAt: now - DAY }),
      idleRecently: await addSession({ createdAt: now - 1.2 * DAY, lastUsedAt: now - DAY - HOUR + 1000 }),
    };
    const all = [...Object.values(gone), ...Object.values(kept)];
    const keptIds = Object.values(kept).sort();
    t.equal(await deleteEndedSessions(db, purgeCutoffs(now, times), 100), 4);
    t.same(await remainingSessions(all), keptIds);
    t.same(await remainingSpent(all), keptIds, 'spent refresh tokens go with their session, and only theirs');
    t.equal(await deleteEndedSessions(db, purgeCutoffs(now, times), 100), 0, 'a second purge finds nothing');
    t.same(await remainingSessions(all), keptIds);
  });

  t.test('in batches', async (t) => {
    const now = clock;
    const ended = await Promise.all([1, 2, 3, 4, 5].map((n) => addSession({ createdAt: now - 3 * DAY - n, revokedAt: now - 2 * DAY })));
    const sizes: number[] = [];
    const purged = await purgeEndedSessions(
      async (cutoffs, limit) => {
        const deleted = await deleteEndedSessions(db, cutoffs, limit);
        sizes.push(deleted);
        return deleted;
      },
      purgeCutoffs(now, times),
      { batchSize: 2 },
    );
    t.equal(purged, 5);
    t.same(sizes, [2, 2, 1], 'one statement per batch');
    t.same(await remainingSessions(ended), []);
  });

  t.test('purges running at once in several replicas share the work and do not fail', async (t) => {
    const now = clock;
    const ended = await Promise.all(Array.from({ length: 60 }, (_, n) => addSession({ createdAt: now - 3 * DAY - n, lastUsedAt: now - 3 * DAY })));
    const replicas = await Promise.all([1, 2, 3].map(() => createDatabase({ databaseUrl: roost.config.databaseUrl, poolSize: 2, dataDir: '.data' })));
    t.teardown(() => Promise.all(replicas.map((replica) => replica.destroy())));
    const cutoffs = purgeCutoffs(now, times);
    const counts = await Promise.all(
      [db, ...replicas].flatMap((replica) => [1, 2].map(() => purgeEndedSessions((c, limit) => deleteEndedSessions(replica, c, limit), cutoffs, { batchSize: 4 }))),
    );
    t.equal(
      counts.reduce((sum, count) => sum + count, 0),
      60,
      'every session deleted exactly once',
    );
    t.same(await remainingSessions(ended), []);
    t.same(await remainingSpent(ended), []);
  });

  t.test('a refresh token of a purged session is answered as an unknown one', async (t) => {
    clock = Date.now();
    const tokens = fragmentOf((await signIn(new Browser(), roost)).location);
    const post = async (path: string, body: Record<string, string>) => {
      const response = await fetch(`${roost.url}${path}`, { method: 'POST', body: new URLSearchParams(body) });
      return { status: response.status, body: response.status === 204 ? undefined : ((await response.json()) as Record<string, unknown>) };
    };
    const refresh = (token: string) => post('/token', { grant_type: 'refresh_token', refresh_token: token });
    const spent = tokens.get('refresh_token') as string;
    const rotated = await refresh(spent);
    t.equal(rotated.status, 200);
    const live = rotated.body?.refresh_token as string;
    t.equal((await post('/logout', { refresh_token: live })).status, 204);

    const unknown = await refresh(newRefreshToken());
    t.match(unknown, { status: 400, body: { code: 'invalid_grant', error: 'invalid_grant', detail: 'The refresh token is unknown' } });
    clock += 2 * DAY;
    t.not((await refresh(live)).body?.detail, unknown.body?.detail, 'kept: the session is known to have ended');
    const before = await samples(roost.deps.metrics);
    t.ok((await roost.deps.sessionPurge.run()) >= 1);
    t.equal((await samples(roost.deps.metrics)).get(sampleKey('roost_session_purges_total', { outcome: 'ok' })), (before.get(sampleKey('roost_session_purges_total', { outcome: 'ok' })) ?? 0) + 1);
    t.same(await refresh(live), unknown, 'the live token of a purged session');
    t.same(await refresh(spent), unknown, 'a spent token of a purged session');
    t.equal((await post('/logout', { refresh_token: live })).status, 204, 'logout of a purged session is no error');
    t.ok(roost.logs.some((line) => line.msg === 'ended sessions purged'));
  });
});

t.test('a purge whose database fails rejects, is logged and counted', async (t) => {
  // A schema without the migrations: the statement itself fails.
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 1, dataDir: '.data' });
  t.teardown(() => db.destroy());
  const { logger, lines } = captureLogs();
  const options = purgeOptions({ deleteBatch: (cutoffs, limit) => deleteEndedSessions(db, cutoffs, limit), intervalMs: 0, logger });
  const purge = startSessionPurge(options);
  await t.rejects(purge.run(), { code: 'database_unavailable' });
  t.equal((await samples(options.metrics)).get(sampleKey('roost_session_purges_total', { outcome: 'failed' })), 1);
  t.match(lines, [{ level: 40, msg: 'ended sessions could not be purged; the next run tries again', err: { code: 'database_unavailable', stack: /relation "sessions" does not exist/ } }]);
  t.notMatch(JSON.stringify(lines), /20\d\d-\d\d-\d\dT/, 'no statement parameters in the log');
  await purge.close();
});
