// Load at a fixed arrival rate (an open loop): requests are started on a
// schedule whatever the server's answers, as independent users arrive, so a
// server that falls behind meets a growing queue rather than a politely
// slowing driver. Each request's latency runs from its scheduled start, not
// from when the driver got round to it (no coordinated omission); how late
// the driver itself was is kept beside it. The closed loop (a fixed number
// of clients, each starting again when answered) measures the rate a server
// saturates at.
import { round, summarize, type Summary } from './stats.js';

/** What one request came to. */
export type Outcome =
  | { readonly status: number; readonly retryAfter: string | undefined }
  | { readonly error: string };

export interface OpenLoopOptions {
  readonly ratePerSec: number;
  readonly durationMs: number;
  /** Sends one request scheduled at `scheduledAt` (performance.now()); never rejects, and settles by its own deadline. */
  readonly fire: (scheduledAt: number) => Promise<Outcome>;
}

export interface LoadRun {
  /** The arrival rate asked for; 0 in a closed loop. */
  readonly targetPerSec: number;
  readonly seconds: number;
  readonly sent: number;
  /** Answered 2xx. */
  readonly admitted: number;
  /** Per second of the arrivals (open loop: what was admitted of the rate asked) or of the run (closed loop). */
  readonly admittedPerSec: number;
  /** Of the admitted, from the scheduled start (open loop) or the send (closed loop) to the whole answer. */
  readonly latencyMs: Summary;
  /** Answers 429 and 503, by status: refused so that the rest are served. */
  readonly shed: Record<string, number>;
  /** How many of the shed answers carried Retry-After (RFC 9110 §10.2.3). */
  readonly shedWithRetryAfter: number;
  /** Any other status, and transport failures and timeouts, by kind. */
  readonly failed: Record<string, number>;
  /** How late the driver started requests against their schedule (open loop). */
  readonly driverLagMs: Summary;
}

export const SHED_STATUSES: readonly number[] = [429, 503];

/** Tallies outcomes as they come. Pure. */
export function createTally() {
  const latencies: number[] = [];
  const shed: Record<string, number> = {};
  const failed: Record<string, number> = {};
  let sent = 0;
  let shedWithRetryAfter = 0;
  return {
    add(outcome: Outcome, latencyMs: number): void {
      sent += 1;
      if ('error' in outcome) {
        failed[outcome.error] = (failed[outcome.error] ?? 0) + 1;
      } else if (outcome.status >= 200 && outcome.status < 300) {
        latencies.push(latencyMs);
      } else if (SHED_STATUSES.includes(outcome.status)) {
        shed[outcome.status] = (shed[outcome.status] ?? 0) + 1;
        if (outcome.retryAfter !== undefined && isRetryAfter(outcome.retryAfter)) shedWithRetryAfter += 1;
      } else {
        const kind = `HTTP ${outcome.status}`;
        failed[kind] = (failed[kind] ?? 0) + 1;
      }
    },
    finish(targetPerSec: number, elapsedMs: number, lags: readonly number[], rateOverMs = elapsedMs): LoadRun {
      return {
        targetPerSec,
        seconds: round(elapsedMs / 1000, 2),
        sent,
        admitted: latencies.length,
        admittedPerSec: Math.round((latencies.length * 1000) / Math.max(1, rateOverMs)),
        latencyMs: summarize(latencies),
        shed,
        shedWithRetryAfter,
        failed,
        driverLagMs: summarize(lags),
      };
    },
  };
}

/** RFC 9110 §10.2.3: delay-seconds, or an HTTP-date in the IMF-fixdate form a sender must use (§5.6.7). */
export function isRetryAfter(value: string): boolean {
  const trimmed = value.trim();
  return /^\d+$/.test(trimmed) || (/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed) && !Number.isNaN(Date.parse(trimmed)));
}

/** The schedule: request i starts at i / rate seconds; how many are due `elapsedMs` in. Pure. */
export function dueBy(elapsedMs: number, ratePerSec: number, total: number): number {
  return Math.min(total, Math.floor((elapsedMs * ratePerSec) / 1000) + 1);
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<LoadRun> {
  const tally = createTally();
  const total = Math.max(1, Math.round((options.ratePerSec * options.durationMs) / 1000));
  const lags: number[] = [];
  const started = performance.now();
  let issued = 0;
  let inFlight = 0;
  let allAnswered: () => void = () => {};
  const done = new Promise<void>((resolve) => (allAnswered = resolve));
  while (issued < total) {
    const now = performance.now();
    for (const due = dueBy(now - started, options.ratePerSec, total); issued < due; issued++) {
      const scheduledAt = started + (issued * 1000) / options.ratePerSec;
      lags.push(now - scheduledAt);
      inFlight += 1;
      void options.fire(scheduledAt).then((outcome) => {
        tally.add(outcome, performance.now() - scheduledAt);
        if (--inFlight === 0 && issued === total) allAnswered();
      });
    }
    // A timer tick is about a millisecond: the requests due meanwhile go out together.
    if (issued < total) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (inFlight > 0) await done;
  return tally.finish(options.ratePerSec, performance.now() - started, lags, options.durationMs);
}

/** `concurrency` clients, each sending again as soon as answered, for `durationMs`. */
export async function runClosedLoop(options: { readonly concurrency: number; readonly durationMs: number; readonly fire: (sentAt: number) => Promise<Outcome> }): Promise<LoadRun> {
  const tally = createTally();
  const started = performance.now();
  const deadline = started + options.durationMs;
  const client = async () => {
    while (performance.now() < deadline) {
      const sentAt = performance.now();
      const outcome = await options.fire(sentAt);
      tally.add(outcome, performance.now() - sentAt);
      // Do not spin on a server that refuses connections.
      if ('error' in outcome) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return tally.finish(0, performance.now() - started, []);
}

/** A transport failure as an outcome kind: "timeout", "ECONNRESET" … */
export function failureOf(error: unknown): Outcome {
  return { error: (error as { code?: string }).code ?? (error as Error).message };
}
