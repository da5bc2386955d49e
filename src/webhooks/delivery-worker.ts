// Delivers the webhook outbox to WEBHOOK_URL. Each replica runs one worker;
// they share the table (outbox.ts): a claim takes due rows no other worker
// holds and leases them, so each event is sent by one replica, and again by
// another only if the first stopped answering for longer than the lease.
// A receiver that hangs, fails or is down holds at most one of `concurrency`
// slots for at most the request timeout, so the rest of the outbox moves on;
// a database that fails makes the loop wait longer and longer (with jitter)
// and carry on once it answers. Nothing here logs the URL (it may carry a
// credential of the receiver's), a payload or a signature.
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { claimDueDeliveries, failExpiredDeliveries, oldestPendingDelivery, recordAttempt, type AttemptRecord, type ClaimedDelivery } from './outbox.js';
import { createJsonPoster, PostError } from './post-json.js';
import { decideAfterAttempt, DEFAULT_RETRY_TIMES, type AttemptDecision, type AttemptResult } from './retry-policy.js';
import { webhookHeaders } from './standard-webhooks.js';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

export interface DeliveryWorkerOptions {
  readonly db: Db;
  /** WEBHOOK_URL. */
  readonly url: string;
  /** WEBHOOK_SECRET, decoded (parseWebhookSecret). */
  readonly key: Buffer;
  readonly now: () => number;
  /** WEBHOOK_MAX_AGE in ms: no attempt is made later than this after the event. */
  readonly maxAgeMs: number;
  /** One attempt's deadline (connect, answer and body). Default 15 s, the low end of what Standard Webhooks recommends. */
  readonly timeoutMs?: number;
  /** How long a claimed delivery stays out of other workers' reach. Default: twice the timeout, at least 60 s. */
  readonly leaseMs?: number;
  /** Deliveries in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Time between two looks at the outbox when nothing wakes the worker. Default 2 s. */
  readonly pollIntervalMs?: number;
  /** The retries' backoff bounds (retry-policy.ts). */
  readonly retry?: { readonly baseMs: number; readonly capMs: number };
  /** The wait after a failed look at the outbox: doubling from baseMs up to capMs. Default 500 ms to 30 s. */
  readonly databaseRetry?: { readonly baseMs: number; readonly capMs: number };
  /** How long close() lets deliveries in flight finish before abandoning them. Default 5 s. */
  readonly closeGraceMs?: number;
  readonly random?: () => number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Each attempt's outcome and each delivery given up unattempted (metrics). */
  readonly onDelivery?: (outcome: DeliveryOutcome) => void;
  /** Each failed look at the outbox or failed record of an attempt (metrics). */
  readonly onDatabaseError?: (error: unknown) => void;
}

export interface DeliveryWorker {
  /** Looks at the outbox now rather than at the next poll (a delivery was just queued). */
  wake(): void;
  /** Seconds since the event of the oldest pending delivery, 0 when none (a gauge's collect). */
  oldestPendingAgeSeconds(): Promise<number>;
  /**
   * Stops claiming, lets deliveries in flight finish for closeGraceMs, then
   * abandons the rest and hands them back due at once; resolves when no
   * request or statement of the worker is left. Close it before the database.
   */
  close(): Promise<void>;
}

/** Deliveries given up as too old per statement; the next look takes the rest. */
const EXPIRY_BATCH = 100;

export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { db, logger, now } = options;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const leaseMs = options.leaseMs ?? Math.max(60_000, 2 * timeoutMs);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const retryTimes = { ...(options.retry ?? DEFAULT_RETRY_TIMES), maxAgeMs: options.maxAgeMs };
  const databaseRetry = options.databaseRetry ?? { baseMs: 500, capMs: 30_000 };
  const closeGraceMs = options.closeGraceMs ?? 5000;
  const random = options.random ?? Math.random;
  const poster = createJsonPoster({ maxAnswerBytes: 64 * 1024 });
  const abandon = new AbortController();

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let looking: Promise<void> | undefined;
  let lookAgain = false;
  let databaseFailures = 0;
  /** When the earliest retry this worker scheduled is due: it looks then rather than at the next poll. */
  let soonestRetry = Number.POSITIVE_INFINITY;
  const inFlight = new Set<Promise<void>>();

  const schedule = (delayMs: number) => {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(() => void look(), delayMs);
    timer.unref();
  };

  const record = async (delivery: ClaimedDelivery, entry: AttemptRecord) => {
    try {
      if (!(await recordAttempt(db, delivery.id, delivery.attempt, entry))) {
        logger.warn({ delivery: delivery.id, attempt: delivery.attempt }, 'webhook delivery outlived its lease: another worker has taken it over');
      }
    } catch (error) {
      options.onDatabaseError?.(error);
      // The row stays leased: another attempt follows the lease, so the receiver may see this event twice.
      logger.warn({ err: error, delivery: delivery.id }, 'webhook delivery attempt could not be recorded; it is retried after its lease');
    }
  };

  const toRecord = (decision: AttemptDecision, result: AttemptResult): AttemptRecord => {
    const httpStatus = result.kind === 'answered' ? result.status : null;
    if (decision.kind === 'delivered') return { status: 'delivered', at: new Date(now()), httpStatus: httpStatus as number };
    if (decision.kind === 'retry') return { status: 'pending', nextAttemptAt: new Date(decision.atMs), httpStatus, error: decision.error };
    return { status: 'failed', httpStatus, error: decision.error };
  };

  const deliver = async (delivery: ClaimedDelivery) => {
    // Signed for this attempt: a fresh webhook-timestamp, the same webhook-id.
    const headers = webhookHeaders(options.key, delivery.id, now(), delivery.payload);
    let result: AttemptResult;
    try {
      const answer = await poster.post(options.url, headers, delivery.payload, { timeoutMs, signal: abandon.signal });
      result = { kind: 'answered', status: answer.status, retryAfter: answer.retryAfter };
    } catch (error) {
      const kind = error instanceof PostError ? error.kind : 'unreachable';
      if (kind === 'aborted') {
        // Stopping: hand it back due now, so another replica need not wait for the lease.
        await record(delivery, { status: 'pending', nextAttemptAt: new Date(now()), httpStatus: null, error: 'interrupted: the worker was stopping' });
        return;
      }
      result = { kind: 'no_answer', failure: kind === 'timeout' ? 'timeout' : 'unreachable' };
    }
    const decision = decideAfterAttempt(result, { number: delivery.attempt, createdAtMs: delivery.createdAt.getTime(), nowMs: now() }, retryTimes, random);
    await record(delivery, toRecord(decision, result));
    if (decision.kind === 'retry') soonestRetry = Math.min(soonestRetry, decision.atMs);
    options.onDelivery?.(decision.kind === 'delivered' ? 'delivered' : decision.kind === 'retry' ? 'retried' : 'failed');
    if (decision.kind === 'failed') {
      logger.warn({ delivery: delivery.id, type: delivery.eventType, attempts: delivery.attempt, reason: decision.error }, 'webhook delivery failed for good');
    }
  };

  const start = (delivery: ClaimedDelivery) => {
    const running: Promise<void> = deliver(delivery)
      .catch((error: unknown) => logger.warn({ err: error, delivery: delivery.id }, 'webhook delivery attempt failed unexpectedly'))
      .finally(() => {
        inFlight.delete(running);
        // A slot is free: more may be due.
        if (databaseFailures === 0) schedule(0);
      });
    inFlight.add(running);
  };

  const lookOnce = async (): Promise<number> => {
    let delay = pollIntervalMs;
    try {
      const nowMs = now();
      if (soonestRetry <= nowMs) soonestRetry = Number.POSITIVE_INFINITY;
      const expiredBy = new Date(nowMs - options.maxAgeMs);
      const expired = await failExpiredDeliveries(db, { now: new Date(nowMs), expiredBy, limit: EXPIRY_BATCH });
      if (expired > 0) {
        for (let i = 0; i < expired; i += 1) options.onDelivery?.('failed');
        logger.warn({ count: expired }, 'webhook deliveries given up unattempted: WEBHOOK_MAX_AGE passed while none could be made');
        if (expired === EXPIRY_BATCH) delay = 0;
      }
      const free = concurrency - inFlight.size;
      if (free > 0 && !closed) {
        const claimed = await claimDueDeliveries(db, { now: new Date(nowMs), leaseUntil: new Date(nowMs + leaseMs), expiredBy, limit: free });
        for (const delivery of claimed) start(delivery);
      }
      if (databaseFailures > 0) logger.info({ failures: databaseFailures }, 'webhook deliveries: the database answers again');
      databaseFailures = 0;
      delay = Math.min(delay, Math.max(0, soonestRetry - now()));
    } catch (error) {
      databaseFailures += 1;
      options.onDatabaseError?.(error);
      const bound = Math.min(databaseRetry.capMs, databaseRetry.baseMs * 2 ** Math.min(databaseFailures - 1, 30));
      delay = Math.round(bound * (0.5 + random() / 2));
      logger.warn({ err: error, failures: databaseFailures, retryInMs: delay }, 'webhook deliveries: the outbox could not be read; trying again');
    }
    return delay;
  };

  const look = async () => {
    if (closed) return;
    if (looking) {
      lookAgain = true;
      return;
    }
    clearTimeout(timer);
    let delay = pollIntervalMs;
    looking = lookOnce().then((next) => void (delay = next));
    await looking;
    looking = undefined;
    if (lookAgain && databaseFailures === 0) {
      lookAgain = false;
      delay = 0;
    }
    schedule(delay);
  };

  schedule(0);

  return {
    wake() {
      // While the database fails, the backoff decides when to look again.
      if (!closed && databaseFailures === 0) void look();
    },
    async oldestPendingAgeSeconds() {
      const oldest = await oldestPendingDelivery(db);
      return oldest ? Math.max(0, (now() - oldest.getTime()) / 1000) : 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      await looking;
      const settled = Promise.allSettled([...inFlight]);
      let grace: NodeJS.Timeout | undefined;
      const finished = await Promise.race([settled.then(() => true), new Promise<false>((resolve) => (grace = setTimeout(() => resolve(false), closeGraceMs)))]);
      clearTimeout(grace);
      if (!finished) {
        abandon.abort();
        await settled;
      }
      poster.close();
    },
  };
}
