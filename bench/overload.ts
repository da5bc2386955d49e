// Tail latency under overload, for refresh and GET /me. First the rate roost
// saturates at (a closed loop of many clients); then an open loop at a tenth
// of it (the unloaded tail) and at four times it: what roost admits (2xx)
// should still be answered quickly, and what it refuses (429, 503) should
// say when to come back (Retry-After). Whatever roost does under overload is
// measured as it is: shed or queue.
import { createHttpPool, type HttpPool } from './http-pool.js';
import { failureOf, runClosedLoop, runOpenLoop, SHED_STATUSES, type LoadRun, type Outcome } from './open-loop.js';

export type OverloadOperationName = 'refresh' | 'GET /me';

export interface OverloadOperation {
  readonly operation: OverloadOperationName;
  /** The closed loop's clients, and its admitted rate: the saturation rate. */
  readonly saturationConcurrency: number;
  readonly saturation: LoadRun;
  readonly unloaded: LoadRun;
  readonly overloaded: LoadRun;
  /** The overload's arrival rate as a multiple of the saturation rate. */
  readonly factor: number;
  /** A request not answered this long after its scheduled start counts as a timeout. */
  readonly timeoutMs: number;
  /** How long the open loops' arrivals ran (the runs' seconds include waiting for the last answers). */
  readonly runSeconds: number;
}

export interface OverloadSettings {
  readonly url: string;
  /** A live access token, for /me. */
  readonly accessToken: string;
  /** Refresh tokens of live sessions, one per session; chained as they are used. */
  readonly refreshTokens: readonly string[];
  readonly saturationConcurrency: number;
  readonly saturationMs: number;
  /** Each open-loop run. */
  readonly runMs: number;
  /** The unloaded run's rate, as a share of the saturation rate. */
  readonly unloadedShare: number;
  readonly factor: number;
  /** From a request's scheduled start; then it counts as a timeout. */
  readonly timeoutMs: number;
  /** Connections the driver may open to roost at once. */
  readonly maxSockets: number;
  readonly say: (line: string) => void;
}

/**
 * Refresh tokens of sessions not in use: a request takes one, waiting (its
 * latency running) when every session is busy, and gives back the next one
 * of the chain, or the same one when it was refused before it was used.
 */
export function createSessionPool(tokens: readonly string[]) {
  const idle = [...tokens];
  const waiting: Array<{ give: (token: string) => void; timer: NodeJS.Timeout }> = [];
  return {
    take(deadline: number): Promise<string | undefined> {
      const token = idle.pop();
      if (token !== undefined) return Promise.resolve(token);
      return new Promise((resolve) => {
        const waiter = {
          give: resolve,
          timer: setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            resolve(undefined);
          }, Math.max(0, deadline - performance.now())),
        };
        waiting.push(waiter);
      });
    },
    give(token: string): void {
      const waiter = waiting.shift();
      if (waiter === undefined) return void idle.push(token);
      clearTimeout(waiter.timer);
      waiter.give(token);
    },
    /** The live tokens not in use, for a later phase. */
    idle: (): string[] => [...idle],
    get size(): number {
      return idle.length;
    },
  };
}

export async function measureOverload(settings: OverloadSettings): Promise<{ operations: OverloadOperation[]; refreshTokens: string[] }> {
  const pool = createSessionPool(settings.refreshTokens);
  const origin = new URL(settings.url);
  const sends: Record<OverloadOperationName, (http: HttpPool, deadline: number) => Promise<Outcome>> = {
    refresh: async (http, deadline) => {
      const token = await pool.take(deadline);
      if (token === undefined) return { error: 'no idle session in time (every session busy)' };
      try {
        const body = `grant_type=refresh_token&refresh_token=${token}`;
        const answer = await http.request({ method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, deadline);
        if (answer.status === 200) pool.give((JSON.parse(answer.body) as { refresh_token: string }).refresh_token);
        else if (SHED_STATUSES.includes(answer.status)) pool.give(token);
        // Any other answer ends the session for the driver: its token may be spent.
        return { status: answer.status, retryAfter: answer.retryAfter };
      } catch (error) {
        return failureOf(error);
      }
    },
    'GET /me': async (http, deadline) => {
      try {
        const answer = await http.request({ method: 'GET', path: '/me', headers: { authorization: `Bearer ${settings.accessToken}` } }, deadline);
        return { status: answer.status, retryAfter: answer.retryAfter };
      } catch (error) {
        return failureOf(error);
      }
    },
  };

  const operations: OverloadOperation[] = [];
  for (const operation of ['refresh', 'GET /me'] as const) {
    const send = sends[operation];
    const withPool = async (run: (http: HttpPool) => Promise<LoadRun>): Promise<LoadRun> => {
      const http = createHttpPool(origin, settings.maxSockets);
      try {
        return await run(http);
      } finally {
        http.close();
      }
    };
    const saturation = await withPool((http) =>
      runClosedLoop({ concurrency: settings.saturationConcurrency, durationMs: settings.saturationMs, fire: (sentAt) => send(http, sentAt + settings.timeoutMs) }),
    );
    const rate = Math.max(1, saturation.admittedPerSec);
    const open = (ratePerSec: number) =>
      withPool((http) => runOpenLoop({ ratePerSec, durationMs: settings.runMs, fire: (scheduledAt) => send(http, scheduledAt + settings.timeoutMs) }));
    // A second between runs, so each starts on a server that has answered everything before it.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));
    await settle();
    const unloaded = await open(Math.max(1, Math.round(rate * settings.unloadedShare)));
    await settle();
    const overloaded = await open(rate * settings.factor);
    const phase = { operation, saturationConcurrency: settings.saturationConcurrency, saturation, unloaded, overloaded, factor: settings.factor, timeoutMs: settings.timeoutMs, runSeconds: settings.runMs / 1000 };
    operations.push(phase);
    settings.say(describeOverload(phase));
  }
  return { operations, refreshTokens: pool.idle() };
}

/** One line for the console. */
export function describeOverload(phase: OverloadOperation): string {
  const { overloaded: o } = phase;
  const counts = (record: Record<string, number>) => Object.entries(record).map(([kind, n]) => `${kind}: ${n}`).join(', ') || 'none';
  return (
    `overload ${phase.operation}: saturates at ${phase.saturation.admittedPerSec}/s (c=${phase.saturationConcurrency}); unloaded p99 ${phase.unloaded.latencyMs.p99} ms at ${phase.unloaded.targetPerSec}/s; ` +
    `at ${o.targetPerSec}/s (${phase.factor}×) ${o.sent} started, ${o.admitted} admitted (${o.admittedPerSec}/s) p99 ${o.latencyMs.p99} ms, shed ${counts(o.shed)} ` +
    `(${o.shedWithRetryAfter} with Retry-After), failed ${counts(o.failed)}; driver lag p99 ${o.driverLagMs.p99} ms`
  );
}
