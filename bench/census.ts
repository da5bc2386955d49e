// What each operation sends to Postgres and Redis: a separate instance of
// the server (roost or the floor) started behind counting proxies
// (wire-census.ts), a few of each operation one at a time, the counts
// divided by the operations. The servers' own timers (the key ring's poll,
// the purge) may add a statement now and then.
import { get } from 'node:http';
import { runFlows } from './flow-driver.js';
import { runRefreshChains } from './refresh-driver.js';
import type { CensusEntry, Server } from './results.js';
import { round } from './stats.js';
import { startCountingProxy } from './wire-census.js';

export interface CensusServer {
  readonly url: string;
  readonly verifyToken: (token: string) => Promise<void>;
  /** The peer's session cookie and its lack of refresh tokens (flow-driver.ts). */
  readonly cookie?: string;
  readonly refreshTokens?: boolean;
  stop(): Promise<void>;
}

export interface CensusSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly providerUrl: string;
  readonly returnTo: string;
  readonly operations: number;
  readonly timeoutMs: number;
  /** Count the sign-in alone (the peer does nothing else). */
  readonly signInOnly?: boolean;
}

/** `start` starts the server on the database and Redis URLs it is given (the proxies'). */
export async function takeCensus(server: Server, start: (urls: { databaseUrl: string; redisUrl: string }) => Promise<CensusServer>, settings: CensusSettings): Promise<CensusEntry[]> {
  const postgresUrl = new URL(settings.databaseUrl);
  const redisUrl = new URL(settings.redisUrl);
  const postgres = await startCountingProxy({ host: postgresUrl.hostname, port: Number(postgresUrl.port || 5432) }, 'postgres');
  const redis = await startCountingProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, 'redis');
  const viaProxy = (url: URL, port: number) => Object.assign(new URL(url.href), { hostname: '127.0.0.1', port: String(port) }).href;
  const instance = await start({ databaseUrl: viaProxy(postgresUrl, postgres.port), redisUrl: viaProxy(redisUrl, redis.port) });
  const n = settings.operations;
  const flows = {
    serverUrl: instance.url,
    providerUrl: settings.providerUrl,
    returnTo: settings.returnTo,
    timeoutMs: settings.timeoutMs,
    verifyToken: instance.verifyToken,
    concurrency: 1,
    durationMs: 60_000,
    ...(instance.cookie !== undefined ? { cookie: instance.cookie } : {}),
    ...(instance.refreshTokens !== undefined ? { refreshTokens: instance.refreshTokens } : {}),
  };
  const entries: CensusEntry[] = [];
  const counted = async (operation: CensusEntry['operation'], work: () => Promise<number>) => {
    const [trips, commands] = [postgres.count(), redis.count()];
    const done = await work();
    if (done !== n) throw new Error(`census of ${server} ${operation}: ${done} of ${n} completed`);
    entries.push({ operation, server, operations: n, postgresRoundTrips: round((postgres.count() - trips) / n), redisCommands: round((redis.count() - commands) / n) });
  };
  try {
    // One sign-in first: the paths are warm, and its tokens serve /me and the refreshes.
    const first = (await runFlows({ ...flows, flowsPerBrowser: 1 })).samples[0];
    if (first === undefined) throw new Error(`census of ${server}: the first sign-in failed`);
    await counted('sign-in', async () => (await runFlows({ ...flows, flowsPerBrowser: n })).samples.length);
    if (settings.signInOnly) return entries;
    await counted('code sign-in + redemption', async () => (await runFlows({ ...flows, mode: 'code', flowsPerBrowser: n })).samples.length);
    await counted('refresh', async () => {
      const run = await runRefreshChains({ url: instance.url, refreshTokens: [first.refreshToken], durationMs: 60_000, refreshesPerChain: n, timeoutMs: settings.timeoutMs, verifyToken: instance.verifyToken });
      return run.samples.length;
    });
    await counted('/me', () => repeat(n, `${instance.url}/me`, { authorization: `Bearer ${first.accessToken}` }));
    await counted('JWKS', () => repeat(n, `${instance.url}/.well-known/jwks.json`, {}));
  } finally {
    await instance.stop();
    await Promise.all([postgres.close(), redis.close()]);
  }
  return entries;
}

/** `n` GETs one after the other; how many answered 200. */
async function repeat(n: number, url: string, headers: Record<string, string>): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const status = await new Promise<number>((resolve, reject) => {
      get(url, { headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      }).on('error', reject);
    });
    if (status === 200) ok += 1;
  }
  return ok;
}
