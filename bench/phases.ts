// One timed phase each: the sign-in matrix's phases (roost, with the
// provider's own time subtracted), and the operations of a session's life
// driven against roost or its floor. Each reads the CPU of every process
// before and after, and summarizes what the driver saw.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { ProviderTimes } from './load-provider.js';
import { runFlows, type FlowRunOptions, type FlowSample } from './flow-driver.js';
import { runRefreshChains } from './refresh-driver.js';
import type { FlowPhase, OperationName, OperationPhase, Server } from './results.js';
import { busyCores, cpuPerOp, takeSnapshot, type Snapshot, type Watched } from './snapshots.js';
import { round, summarize } from './stats.js';

/** A server the driver can sign in to (and refresh at): roost, the floor, or the passport peer. */
export interface Target {
  readonly server: Server;
  readonly url: string;
  readonly pid: number;
  /** Rejects a token this server should not have issued. */
  readonly verifyToken: (token: string) => Promise<void>;
  /** The peer's session cookie and its lack of refresh tokens (flow-driver.ts); roost's and the floor's by default. */
  readonly cookie?: string;
  readonly refreshTokens?: boolean;
}

export interface PhaseSettings {
  readonly providerUrl: string;
  readonly returnTo: string;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  /** Everything but the server's pid, which the target brings. */
  readonly watched: Omit<Watched, 'serverPid'>;
}

const flowOptions = (target: Target, settings: PhaseSettings): Omit<FlowRunOptions, 'concurrency' | 'durationMs'> => ({
  serverUrl: target.url,
  providerUrl: settings.providerUrl,
  returnTo: settings.returnTo,
  timeoutMs: settings.timeoutMs,
  verifyToken: target.verifyToken,
  ...(target.cookie !== undefined ? { cookie: target.cookie } : {}),
  ...(target.refreshTokens !== undefined ? { refreshTokens: target.refreshTokens } : {}),
});

/** Complete sign-ins, in the fragment mode or the code mode with its redemption. */
export async function measureSignIns(target: Target, settings: PhaseSettings, mode: 'fragment' | 'code'): Promise<OperationPhase> {
  const watched = { ...settings.watched, serverPid: target.pid };
  const before = await takeSnapshot(watched);
  const run = await runFlows({ ...flowOptions(target, settings), mode, concurrency: settings.concurrency, durationMs: settings.durationMs });
  const after = await takeSnapshot(watched);
  const operation: OperationName = mode === 'code' ? 'code sign-in + redemption' : 'sign-in';
  return {
    ...common(operation, target, settings, run.samples.length, run.errors, run.elapsedMs, before, after),
    latencyMs: summarize(run.samples.map((sample) => sample.total - sample.verify)),
    ...(mode === 'code' ? { redeemLatencyMs: summarize(run.samples.map((sample) => sample.redeem)) } : {}),
  };
}

/**
 * Refresh chains, one per client, each on a session of its own opened by a
 * sign-in first (not timed). Returns the chains' live tokens too, for a
 * later phase on the same sessions.
 */
export async function measureRefreshes(target: Target, settings: PhaseSettings, refreshTokens?: readonly string[]): Promise<{ phase: OperationPhase; refreshTokens: string[] }> {
  const tokens = refreshTokens ?? (await openSessions(target, settings));
  const watched = { ...settings.watched, serverPid: target.pid };
  const before = await takeSnapshot(watched);
  const run = await runRefreshChains({ url: target.url, refreshTokens: tokens, durationMs: settings.durationMs, timeoutMs: settings.timeoutMs, verifyToken: target.verifyToken });
  const after = await takeSnapshot(watched);
  return {
    phase: { ...common('refresh', target, settings, run.samples.length, run.errors, run.elapsedMs, before, after), latencyMs: summarize(run.samples) },
    refreshTokens: run.refreshTokens,
  };
}

/** One sign-in per client: the refresh tokens of `concurrency` new sessions. */
export async function openSessions(target: Target, settings: PhaseSettings): Promise<string[]> {
  const run = await runFlows({ ...flowOptions(target, settings), concurrency: settings.concurrency, durationMs: 60_000, flowsPerBrowser: 1 });
  if (run.samples.length !== settings.concurrency) throw new Error(`${target.server}: ${run.samples.length} of ${settings.concurrency} sign-ins completed: ${JSON.stringify(run.errors)}`);
  return run.samples.map((sample) => sample.refreshToken);
}

function common(
  operation: OperationName,
  target: Target,
  settings: PhaseSettings,
  completed: number,
  errors: Record<string, number>,
  elapsedMs: number,
  before: Snapshot,
  after: Snapshot,
): Omit<OperationPhase, 'latencyMs' | 'redeemLatencyMs'> {
  return {
    operation,
    server: target.server,
    concurrency: settings.concurrency,
    seconds: round(elapsedMs / 1000, 2),
    completed,
    perSec: Math.round((completed * 1000) / elapsedMs),
    errorCount: Object.values(errors).reduce((sum, n) => sum + n, 0),
    errors,
    cpuMsPerOp: cpuPerOp(before, after, completed),
    machineBusyCores: busyCores(before, after),
  };
}

/** A phase of the sign-in matrix: roost's own time is each flow's time less the provider's and the browser's hop to it. */
export function flowPhase(
  concurrency: number,
  latencyMs: number,
  run: { samples: FlowSample[]; errors: Record<string, number>; elapsedMs: number },
  times: Record<string, ProviderTimes>,
  before: Snapshot,
  after: Snapshot,
): FlowPhase {
  const { samples, errors, elapsedMs } = run;
  const roostOwn: number[] = [];
  const loginOwn: number[] = [];
  const callbackOwn: number[] = [];
  const providerShare: number[] = [];
  for (const sample of samples) {
    const provider = times[sample.requestToken];
    if (provider === undefined) continue;
    const login = sample.login - provider.requestToken;
    const callback = sample.callback - provider.accessToken - provider.verifyCredentials;
    loginOwn.push(login);
    callbackOwn.push(callback);
    roostOwn.push(login + callback);
    providerShare.push(provider.requestToken + provider.accessToken + provider.verifyCredentials + sample.authenticate);
  }
  return {
    concurrency,
    providerLatencyMs: latencyMs,
    seconds: round(elapsedMs / 1000, 2),
    completed: samples.length,
    flowsPerSec: Math.round((samples.length * 1000) / elapsedMs),
    errorCount: Object.values(errors).reduce((sum, n) => sum + n, 0),
    errors,
    latencyMs: {
      flow: summarize(samples.map((s) => s.total)),
      browser: summarize(samples.map((s) => s.total - s.verify)),
      login: summarize(samples.map((s) => s.login)),
      authenticate: summarize(samples.map((s) => s.authenticate)),
      callback: summarize(samples.map((s) => s.callback)),
      verify: summarize(samples.map((s) => s.verify)),
      provider: summarize(providerShare),
      roostOwn: summarize(roostOwn),
      roostOwnLogin: summarize(loginOwn),
      roostOwnCallback: summarize(callbackOwn),
    },
    cpuMsPerFlow: cpuPerOp(before, after, samples.length),
    machineBusyCores: busyCores(before, after),
    loadavg1: [round(before.loadavg1, 2), round(after.loadavg1, 2)],
  };
}

/**
 * Verifies an access token as a sibling service would: against the issuer's
 * JWKS, with the claims roost sets; the peer's tokens are plain JWTs
 * (`typ: JWT`, jsonwebtoken's default) without a session claim.
 */
export function tokenVerifier(issuer: string, kind: 'roost' | 'peer' = 'roost'): (token: string) => Promise<void> {
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', issuer));
  const typ = kind === 'roost' ? 'at+jwt' : 'JWT';
  return async (token) => {
    const { payload } = await jwtVerify(token, jwks, { issuer, algorithms: ['ES256'], typ });
    if (typeof payload.twitter_id !== 'string' || !/^\d+$/.test(payload.twitter_id) || typeof payload.sub !== 'string' || (kind === 'roost' && typeof payload.sid !== 'string')) {
      throw Object.assign(new Error('unexpected claims'), { code: 'claims' });
    }
  };
}

/** Each path a phase takes, for a few seconds, so V8 has compiled it before it is timed. */
export async function warmUp(target: Target, settings: PhaseSettings, signIns: boolean): Promise<void> {
  const short = { ...settings, durationMs: 2000 };
  if (signIns) await measureSignIns(target, { ...settings, durationMs: 3000 }, 'fragment');
  await measureSignIns(target, short, 'code');
  await measureRefreshes(target, short, await openSessions(target, settings));
}

/** The matrix's sign-in phase at the operations' concurrency, as an operation beside the floor's. */
export function signInFromMatrix(phase: FlowPhase): OperationPhase {
  return {
    operation: 'sign-in',
    server: 'roost',
    concurrency: phase.concurrency,
    seconds: phase.seconds,
    completed: phase.completed,
    perSec: phase.flowsPerSec,
    errorCount: phase.errorCount,
    errors: phase.errors,
    latencyMs: phase.latencyMs.browser,
    cpuMsPerOp: phase.cpuMsPerFlow,
    machineBusyCores: phase.machineBusyCores,
  };
}

/** One line for the console. */
export function describeOperation(phase: OperationPhase): string {
  const errors = phase.errorCount > 0 ? ` (${Object.entries(phase.errors).map(([kind, n]) => `${kind}: ${n}`).join('; ')})` : '';
  return (
    `${phase.server} ${phase.operation} c=${phase.concurrency}: ${phase.perSec}/s, ${phase.errorCount} errors${errors}, p50 ${phase.latencyMs.p50} p99 ${phase.latencyMs.p99} ms, ` +
    `CPU ${phase.cpuMsPerOp.server} ms/op, Postgres ${phase.cpuMsPerOp.postgres} (+${phase.cpuMsPerOp.postgresOther}) ms/op, Redis ${phase.cpuMsPerOp.redis ?? '–'} ms/op`
  );
}
