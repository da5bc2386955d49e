// The soak (npm run bench -- --soak SECONDS): a steady mix of sign-ins,
// refreshes, /me and JWKS requests at a fixed share of what roost saturates
// at, each at a fixed arrival rate, for a long time; meanwhile roost's RSS
// (/proc) and V8 heap and garbage-collection time (its /metrics: prom-client's
// default metrics) are sampled every few seconds. After a warm-up, memory
// should stay flat and the collector should take a small share of the CPU.
import { createSignInClient } from './flow-driver.js';
import { createHttpPool, type PoolAnswer } from './http-pool.js';
import { failureOf, runOpenLoop, type LoadRun, type Outcome } from './open-loop.js';
import { createSessionPool } from './overload.js';
import { processCpuMs, processMemory } from './proc.js';
import { round } from './stats.js';

export type SoakOperation = 'sign-in' | 'refresh' | 'GET /me' | 'JWKS';
export const SOAK_OPERATIONS: readonly SoakOperation[] = ['sign-in', 'refresh', 'GET /me', 'JWKS'];

/** The share of roost's capacity each operation takes in the mix; they add up to 1. */
export const SOAK_MIX: Readonly<Record<SoakOperation, number>> = { 'sign-in': 0.25, refresh: 0.25, 'GET /me': 0.35, JWKS: 0.15 };

export interface SoakSample {
  /** Seconds since the soak began. */
  readonly atS: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  /** nodejs_gc_duration_seconds summed over kinds, since roost started. */
  readonly gcSeconds: number;
  /** roost's CPU time since it started. */
  readonly cpuMs: number;
}

export interface SoakResults {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly intervalSeconds: number;
  readonly share: number;
  readonly saturationPerSec: Readonly<Record<SoakOperation, number>>;
  readonly ratesPerSec: Readonly<Record<SoakOperation, number>>;
  readonly runs: Readonly<Record<SoakOperation, LoadRun>>;
  readonly samples: readonly SoakSample[];
  /** After the warm-up: the last window against the first (see soakGrowth). */
  readonly rssGrowthPct: number;
  readonly heapGrowthPct: number;
  /** Garbage-collection time over roost's CPU time after the warm-up. */
  readonly gcSharePct: number;
}

export interface SoakSettings {
  readonly url: string;
  readonly pid: number;
  readonly providerUrl: string;
  readonly returnTo: string;
  readonly verifyToken: (token: string) => Promise<void>;
  readonly seconds: number;
  readonly intervalMs: number;
  readonly share: number;
  readonly saturationPerSec: Readonly<Record<SoakOperation, number>>;
  readonly accessToken: string;
  readonly refreshTokens: readonly string[];
  readonly timeoutMs: number;
  readonly say: (line: string) => void;
}

/** Live sessions the refreshes draw on; sign-ins add theirs up to this many. */
const POOL_CAP = 256;

/** Each operation's arrival rate: its share of the mix of `share` of its saturation rate. Pure. */
export function soakRates(saturation: Readonly<Record<SoakOperation, number>>, share: number, mix: Readonly<Record<SoakOperation, number>> = SOAK_MIX): Record<SoakOperation, number> {
  const rates = {} as Record<SoakOperation, number>;
  for (const operation of SOAK_OPERATIONS) rates[operation] = round(share * mix[operation] * saturation[operation], 1);
  return rates;
}

/** The warm-up left out of the growth: a fifth of the soak, at most a minute. Pure. */
export function soakWarmupSeconds(seconds: number): number {
  return Math.min(60, Math.round(seconds / 5));
}

/** The heap in use and the collector's time from roost's Prometheus text. Pure. */
export function readRoostMetrics(text: string): { heapUsedBytes: number; gcSeconds: number } {
  let heapUsedBytes = NaN;
  let gcSeconds = 0;
  let sawGc = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, , value] = match;
    if (name === 'nodejs_heap_size_used_bytes') heapUsedBytes = Number(value);
    if (name === 'nodejs_gc_duration_seconds_sum') {
      gcSeconds += Number(value);
      sawGc = true;
    }
  }
  return { heapUsedBytes, gcSeconds: sawGc ? gcSeconds : NaN };
}

/**
 * Growth after the warm-up: the samples past it cut into `windows` equal
 * spans of time; RSS is each span's median, the heap each span's least (the
 * live heap, just after a collection, rather than where the sawtooth of
 * allocation happened to be); the last span against the first. Pure.
 */
export function soakGrowth(samples: readonly SoakSample[], warmupSeconds: number, windows = 5): { rssGrowthPct: number; heapGrowthPct: number; gcSharePct: number } {
  const steady = samples.filter((sample) => sample.atS >= warmupSeconds);
  const none = { rssGrowthPct: NaN, heapGrowthPct: NaN, gcSharePct: NaN };
  if (steady.length < 2) return none;
  const first = steady[0] as SoakSample;
  const last = steady[steady.length - 1] as SoakSample;
  const span = (last.atS - first.atS) / windows;
  const spanOf = (sample: SoakSample) => (span > 0 ? Math.min(windows - 1, Math.floor((sample.atS - first.atS) / span)) : 0);
  const firstSpan = steady.filter((sample) => spanOf(sample) === 0);
  const lastSpan = steady.filter((sample) => spanOf(sample) === windows - 1);
  const cpu = last.cpuMs - first.cpuMs;
  const gcSharePct = cpu > 0 ? round((100 * (last.gcSeconds - first.gcSeconds) * 1000) / cpu, 1) : NaN;
  if (firstSpan.length === 0 || lastSpan.length === 0 || span <= 0) return { ...none, gcSharePct };
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] as number;
  };
  const grew = (before: number, after: number) => round((100 * (after - before)) / before, 1);
  return {
    rssGrowthPct: grew(median(firstSpan.map((s) => s.rssMb)), median(lastSpan.map((s) => s.rssMb))),
    heapGrowthPct: grew(Math.min(...firstSpan.map((s) => s.heapUsedMb)), Math.min(...lastSpan.map((s) => s.heapUsedMb))),
    gcSharePct,
  };
}

export async function runSoak(settings: SoakSettings): Promise<SoakResults> {
  const rates = soakRates(settings.saturationPerSec, settings.share);
  const warmupSeconds = soakWarmupSeconds(settings.seconds);
  settings.say(`soak: ${settings.seconds} s at ${settings.share * 100}% of saturation: ${SOAK_OPERATIONS.map((op) => `${op} ${rates[op]}/s`).join(', ')}; warm-up ${warmupSeconds} s`);
  const pool = createSessionPool(settings.refreshTokens);
  let accessToken = settings.accessToken;
  const http = createHttpPool(new URL(settings.url), 128);
  const signIns = createSignInClient({ serverUrl: settings.url, providerUrl: settings.providerUrl, returnTo: settings.returnTo, timeoutMs: settings.timeoutMs, verifyToken: settings.verifyToken, maxSockets: 64 });
  const answered = async (pending: Promise<PoolAnswer>): Promise<Outcome> => {
    try {
      const answer = await pending;
      return { status: answer.status, retryAfter: answer.retryAfter };
    } catch (error) {
      return failureOf(error);
    }
  };
  const fire: Record<SoakOperation, (scheduledAt: number) => Promise<Outcome>> = {
    'sign-in': async () => {
      try {
        const sample = await signIns.signIn();
        accessToken = sample.accessToken;
        if (pool.size < POOL_CAP) pool.give(sample.refreshToken);
        return { status: 200, retryAfter: undefined };
      } catch (error) {
        return { error: (error as Error).message };
      }
    },
    refresh: async (scheduledAt) => {
      const deadline = scheduledAt + settings.timeoutMs;
      const token = await pool.take(deadline);
      if (token === undefined) return { error: 'no idle session in time' };
      const body = `grant_type=refresh_token&refresh_token=${token}`;
      return answered(
        http.request({ method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, deadline).then((answer) => {
          if (answer.status === 200) pool.give((JSON.parse(answer.body) as { refresh_token: string }).refresh_token);
          else if (answer.status === 429 || answer.status === 503) pool.give(token);
          return answer;
        }),
      );
    },
    'GET /me': (scheduledAt) => answered(http.request({ method: 'GET', path: '/me', headers: { authorization: `Bearer ${accessToken}` } }, scheduledAt + settings.timeoutMs)),
    JWKS: (scheduledAt) => answered(http.request({ method: 'GET', path: '/.well-known/jwks.json' }, scheduledAt + settings.timeoutMs)),
  };

  const samples: SoakSample[] = [];
  const started = performance.now();
  const sample = async () => {
    const response = await fetch(new URL('/metrics', settings.url));
    const metrics = readRoostMetrics(await response.text());
    samples.push({
      atS: round((performance.now() - started) / 1000, 1),
      rssMb: processMemory(settings.pid).rssMb,
      heapUsedMb: round(metrics.heapUsedBytes / 1024 ** 2, 1),
      gcSeconds: metrics.gcSeconds,
      cpuMs: processCpuMs(settings.pid),
    });
  };
  await sample();
  let sampling = Promise.resolve();
  let ticks = 0;
  const ticksAMinute = Math.max(1, Math.round(60_000 / settings.intervalMs));
  const timer = setInterval(() => {
    sampling = sampling.then(sample).catch((error: unknown) => settings.say(`soak: a sample failed: ${(error as Error).message}`));
    const latest = samples.at(-1);
    if (++ticks % ticksAMinute === 0 && latest) settings.say(`  soak ${latest.atS} s: RSS ${latest.rssMb} MB, V8 heap in use ${latest.heapUsedMb} MB`);
  }, settings.intervalMs);
  let runs: Record<SoakOperation, LoadRun>;
  try {
    const entries = await Promise.all(
      SOAK_OPERATIONS.map(async (operation) => [operation, await runOpenLoop({ ratePerSec: rates[operation], durationMs: settings.seconds * 1000, fire: fire[operation] })] as const),
    );
    runs = Object.fromEntries(entries) as Record<SoakOperation, LoadRun>;
  } finally {
    clearInterval(timer);
    await sampling;
    http.close();
    signIns.close();
  }
  await sample();
  const growth = soakGrowth(samples, warmupSeconds);
  return {
    seconds: settings.seconds,
    warmupSeconds,
    intervalSeconds: settings.intervalMs / 1000,
    share: settings.share,
    saturationPerSec: settings.saturationPerSec,
    ratesPerSec: rates,
    runs,
    samples,
    ...growth,
  };
}
