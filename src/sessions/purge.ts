// Ended sessions are kept SESSION_RETENTION seconds, then deleted with their
// spent refresh tokens. Every replica purges on a jittered timer; deletes are
// idempotent and skip rows another replica is deleting, so replicas that
// purge at once neither fail nor wait for each other. Each batch is its own
// short statement: a large backlog never holds long locks.
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import { purgeCutoffs, type PurgeCutoffs, type RetentionTimes } from './policy.js';

export const PURGE_BATCH_SIZE = 200;

/** Deletes at most `limit` sessions that ended by the cutoffs; how many went. */
export type DeleteEndedSessions = (cutoffs: PurgeCutoffs, limit: number) => Promise<number>;

/**
 * Deletes batch after batch until one comes back short. `stopped` is asked
 * before each batch: a closing process ends the run between two statements.
 */
export async function purgeEndedSessions(
  deleteBatch: DeleteEndedSessions,
  cutoffs: PurgeCutoffs,
  options: { readonly batchSize?: number; readonly stopped?: () => boolean } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? PURGE_BATCH_SIZE;
  let purged = 0;
  while (!options.stopped?.()) {
    const deleted = await deleteBatch(cutoffs, batchSize);
    purged += deleted;
    if (deleted < batchSize) break;
  }
  return purged;
}

/** A pending timer; the real one is unref'd, so it never keeps the process alive. */
export type Schedule = (run: () => void, delayMs: number) => { cancel(): void };

const realSchedule: Schedule = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

export interface SessionPurgeOptions extends RetentionTimes {
  readonly deleteBatch: DeleteEndedSessions;
  readonly now: () => number;
  /** Mean time between two runs; 0: no timer (runs only when called). */
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly metrics: Pick<Metrics, 'sessionPurges' | 'sessionsPurged'>;
  readonly schedule?: Schedule;
  readonly random?: () => number;
}

export interface SessionPurge {
  /** Purges now; resolves to how many sessions went. Rejects when the database fails (logged and counted too). */
  run(): Promise<number>;
  /** Stops the timer and waits for a run in progress to end; no query is sent after it resolves. */
  close(): Promise<void>;
}

export function startSessionPurge(options: SessionPurgeOptions): SessionPurge {
  const { logger, metrics } = options;
  const schedule = options.schedule ?? realSchedule;
  const random = options.random ?? Math.random;
  let closed = false;
  let running: Promise<number> | undefined;
  let pending: { cancel(): void } | undefined;

  const purge = async (): Promise<number> => {
    const started = performance.now();
    try {
      const purged = await purgeEndedSessions(options.deleteBatch, purgeCutoffs(options.now(), options), {
        batchSize: options.batchSize,
        stopped: () => closed,
      });
      metrics.sessionPurges.inc({ outcome: 'ok' });
      metrics.sessionsPurged.inc(purged);
      if (purged > 0) logger.info({ purged, ms: Math.round(performance.now() - started) }, 'ended sessions purged');
      return purged;
    } catch (error) {
      metrics.sessionPurges.inc({ outcome: 'failed' });
      // The database's error only: no statement parameters, no session ids.
      logger.warn({ err: error }, 'ended sessions could not be purged; the next run tries again');
      throw error;
    }
  };

  // One run at a time in this process; a call during a run shares it.
  const run = (): Promise<number> => {
    if (closed) return Promise.resolve(0);
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
