// Audit events are kept AUDIT_RETENTION seconds, then deleted, with the
// finished webhook deliveries of the same age. As with ended sessions
// (sessions/purge.ts): every replica purges on a jittered timer, deletes are
// idempotent and skip rows another replica is deleting, and each batch is
// its own short statement, so a large backlog never holds long locks.
import type { Logger } from 'pino';
import type { ExpiredRows } from './queries.js';

export const AUDIT_PURGE_BATCH_SIZE = 500;
export const DEFAULT_AUDIT_RETENTION_SECONDS = 90 * 24 * 3600;

/** Deletes one batch of rows at or before the cutoff (deleteExpiredAuditRows). */
export type DeleteExpiredAudit = (cutoff: Date, limit: number) => Promise<ExpiredRows>;

/**
 * Deletes batch after batch until both kinds of row come back short.
 * `stopped` is asked before each batch: a closing process ends the run
 * between two statements.
 */
export async function purgeExpiredAudit(
  deleteBatch: DeleteExpiredAudit,
  cutoff: Date,
  options: { readonly batchSize?: number; readonly stopped?: () => boolean } = {},
): Promise<ExpiredRows> {
  const batchSize = options.batchSize ?? AUDIT_PURGE_BATCH_SIZE;
  let events = 0;
  let deliveries = 0;
  while (!options.stopped?.()) {
    const deleted = await deleteBatch(cutoff, batchSize);
    events += deleted.events;
    deliveries += deleted.deliveries;
    if (deleted.events < batchSize && deleted.deliveries < batchSize) break;
  }
  return { events, deliveries };
}

/** A pending timer; the real one is unref'd, so it never keeps the process alive. */
export type Schedule = (run: () => void, delayMs: number) => { cancel(): void };

const realSchedule: Schedule = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

export interface AuditPurgeOptions {
  readonly deleteBatch: DeleteExpiredAudit;
  readonly now: () => number;
  /** AUDIT_RETENTION: seconds an event is kept. */
  readonly retentionSeconds: number;
  /** Mean time between two runs; 0: no timer (runs only when called). */
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Each run's outcome and what it deleted, for the metrics. */
  readonly onRun?: (outcome: 'ok' | 'failed', purged: ExpiredRows) => void;
  readonly schedule?: Schedule;
  readonly random?: () => number;
}

export interface AuditPurge {
  /** Purges now; resolves to what went. Rejects when the database fails (logged and reported too). */
  run(): Promise<ExpiredRows>;
  /** Stops the timer and waits for a run in progress to end; no query is sent after it resolves. */
  close(): Promise<void>;
}

const NOTHING: ExpiredRows = { events: 0, deliveries: 0 };

export function startAuditPurge(options: AuditPurgeOptions): AuditPurge {
  const { logger } = options;
  const schedule = options.schedule ?? realSchedule;
  const random = options.random ?? Math.random;
  let closed = false;
  let running: Promise<ExpiredRows> | undefined;
  let pending: { cancel(): void } | undefined;

  const purge = async (): Promise<ExpiredRows> => {
    const started = performance.now();
    const cutoff = new Date(options.now() - options.retentionSeconds * 1000);
    try {
      const purged = await purgeExpiredAudit(options.deleteBatch, cutoff, { batchSize: options.batchSize, stopped: () => closed });
      options.onRun?.('ok', purged);
      if (purged.events + purged.deliveries > 0) logger.info({ ...purged, ms: Math.round(performance.now() - started) }, 'expired audit events purged');
      return purged;
    } catch (error) {
      options.onRun?.('failed', NOTHING);
      logger.warn({ err: error }, 'expired audit events could not be purged; the next run tries again');
      throw error;
    }
  };

  // One run at a time in this process; a call during a run shares it.
  const run = (): Promise<ExpiredRows> => {
    if (closed) return Promise.resolve(NOTHING);
    running ??= purge().finally(() => (running = undefined));
    return running;
  };

  const arm = (delayMs: number) => {
    pending = schedule(() => {
      pending = undefined;
      run()
        .catch(() => undefined)
        .finally(() => {
          // Replicas started together drift apart: each wait is 0.5 to 1.5 intervals.
          if (!closed) arm(options.intervalMs * (0.5 + random()));
        });
    }, delayMs);
  };
  // The first run comes a while after start (not in the rush of a deploy), within one interval.
  if (options.intervalMs > 0) arm(options.intervalMs * (0.1 + 0.9 * random()));

  return {
    run,
    async close() {
      closed = true;
      pending?.cancel();
      pending = undefined;
      await running?.catch(() => undefined);
    },
  };
}
