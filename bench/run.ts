// `npm run bench`: what each operation of a session's life costs, and what
// bounds it. Starts the lean provider, a fresh database and roost in
// production mode; drives complete sign-ins at several concurrencies, and
// the same sign-ins against a passport-twitter peer written as a tutorial
// would (peer.ts); then the operations of a session (sign-in, code sign-in
// with its redemption, refresh chains) against roost and against its floor,
// measured in the same run (floor.ts); the JWKS and /me beside bare
// node:http, Fastify and the floor; each operation at the chart's
// concurrencies (series.ts); refresh and /me at four times the rate roost
// saturates at (overload.ts); optionally a long steady mix (soak.ts); counts
// each operation's Postgres round trips and Redis commands on the wire;
// optionally fills the database and measures again; writes bench/results/
// (the report, its JSON and its chart).
// Options: --duration S (per timed phase, default 10), --latency MS[,MS…]
// (added provider latency, default 0,50), --concurrency N[,N…] (default
// 1,16,64), --operation-concurrency N (default 16), --http-duration S (per
// HTTP target, in 3 rounds; default 9), --connections N (default 50),
// --series N[,N…] (the chart's concurrencies, default 1,16,64; 0: none),
// --series-duration S (each point no phase measured, default 3),
// --overload-duration S (each open-loop run, default 5; 0: no overload
// phase), --overload-factor X (default 4), --soak S (default 0: none),
// --soak-share X (of saturation, default 0.5), --census N (operations
// counted on the wire, default 20; 0: none), --seed-users N (fill the
// database with N users and 5 N sessions, then measure again; default 0),
// --out DIR (default bench/results), --update-readme (rewrite the results in
// docs/performance.md).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { takeCensus, type CensusServer } from './census.js';
import { renderChart } from './chart.js';
import { runFlows } from './flow-driver.js';
import { measureHttp as loadHttp } from './http-load.js';
import { measureHttpPhases, type HttpTargetSpec } from './http-phases.js';
import { LATENCY_PATH, TIMES_PATH, type ProviderTimes } from './load-provider.js';
import { measureOverload, type OverloadOperation } from './overload.js';
import { PEER_COOKIE } from './peer.js';
import { describeOperation, flowPhase, measureRefreshes, measureSignIns, signInFromMatrix, tokenVerifier, warmUp, type PhaseSettings, type Target } from './phases.js';
import { machineCpu, processCpuMs, processMemory, type Memory } from './proc.js';
import { createBenchDatabase, freePort, startHelper, startRoost, type Helper, type RoostProcess } from './processes.js';
import { renderMarkdown, updateBenchSection } from './report.js';
import type { BenchResults, CensusEntry, FlowPhase, HttpPhase, OperationPhase, RunMemory, SeededResults } from './results.js';
import { seedDatabase } from './seed.js';
import { chartPanels, pointsFromPhases, pointsToMeasure, SERIES_NAMES, type SeriesPoint } from './series.js';
import { idleRates, takeSnapshot } from './snapshots.js';
import { runSoak, type SoakResults } from './soak.js';
import { median, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    latency: { type: 'string', default: '0,50' },
    concurrency: { type: 'string', default: '1,16,64' },
    'operation-concurrency': { type: 'string', default: '16' },
    'http-duration': { type: 'string', default: '9' },
    connections: { type: 'string', default: '50' },
    series: { type: 'string', default: '1,16,64' },
    'series-duration': { type: 'string', default: '3' },
    'overload-duration': { type: 'string', default: '5' },
    'overload-factor': { type: 'string', default: '4' },
    soak: { type: 'string', default: '0' },
    'soak-share': { type: 'string', default: '0.5' },
    census: { type: 'string', default: '20' },
    'seed-users': { type: 'string', default: '0' },
    out: { type: 'string', default: 'bench/results' },
    'update-readme': { type: 'boolean', default: false },
  },
});
const numbers = (text: string) => text.split(',').map((item) => Number(item.trim()));
const FLOW_SECONDS = Number(args.duration);
const LATENCIES = numbers(args.latency);
const CONCURRENCIES = numbers(args.concurrency);
const OPERATION_CONCURRENCY = Number(args['operation-concurrency']);
const HTTP_SECONDS = Number(args['http-duration']);
const CONNECTIONS = Number(args.connections);
const CENSUS_OPERATIONS = Number(args.census);
const SEED_USERS = Number(args['seed-users']);
const SERIES_CONCURRENCIES = numbers(args.series).filter((n) => n !== 0);
const SERIES_SECONDS = Number(args['series-duration']);
const OVERLOAD_SECONDS = Number(args['overload-duration']);
const OVERLOAD_FACTOR = Number(args['overload-factor']);
const SOAK_SECONDS = Number(args.soak);
const SOAK_SHARE = Number(args['soak-share']);
if (
  [FLOW_SECONDS, HTTP_SECONDS, CONNECTIONS, CENSUS_OPERATIONS, SEED_USERS, SERIES_SECONDS, OVERLOAD_SECONDS, SOAK_SECONDS, ...LATENCIES, ...CONCURRENCIES, ...SERIES_CONCURRENCIES].some(
    (n) => !Number.isInteger(n) || n < 0,
  ) ||
  !(OPERATION_CONCURRENCY >= 1) ||
  FLOW_SECONDS > 60 ||
  HTTP_SECONDS > 60 ||
  SERIES_SECONDS > 60 ||
  OVERLOAD_SECONDS > 60 ||
  !(OVERLOAD_FACTOR > 1 && OVERLOAD_FACTOR <= 20) ||
  !(SOAK_SHARE > 0 && SOAK_SHARE <= 1)
) {
  throw new Error(
    'durations must be 0–60 s (--soak any whole number of seconds); latencies, concurrencies, connections, --series, --census and --seed-users whole non-negative numbers, ' +
      '--operation-concurrency at least 1, --overload-factor above 1 and at most 20, --soak-share above 0 and at most 1',
  );
}
if (SOAK_SECONDS > 0 && (SOAK_SECONDS < 30 || OVERLOAD_SECONDS === 0 || HTTP_SECONDS === 0 || !LATENCIES.includes(0))) {
  throw new Error('--soak takes at least 30 s, and the rates it runs at come from the overload phase, the HTTP phase and the matrix at 0 ms: keep --overload-duration, --http-duration and a latency of 0');
}

const ADMIN_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// A Redis database of its own: nothing is ever flushed, flows are taken or expire.
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const APP_ORIGIN = 'http://app.bench.test';
const RETURN_TO = `${APP_ORIGIN}/signed-in`;
const CONSUMER_KEY = 'bench-consumer-key';
const CONSUMER_SECRET = randomBytes(16).toString('hex');
const COOKIE_SECRET_HEX = randomBytes(32).toString('hex');
const ENCRYPTION_KEY_HEX = randomBytes(32).toString('hex');
const logPath = path.join(os.tmpdir(), `roost-bench-${process.pid}.log`);
// Long enough for V8 to compile the hot paths: a server's steady state is what counts.
const WARMUP_MS = 5000;
const HTTP_ROUNDS = 3;
const TIMEOUT_MS = 10_000;
// The overload phase: sessions its refreshes chain, the clients of its closed loop, how long that runs, and its open loops' limits.
const OVERLOAD_SESSIONS = 512;
const SATURATION_CONCURRENCY = 64;
const SATURATION_MS = 3000;
const OVERLOAD_TIMEOUT_MS = 5000;
const OVERLOAD_SOCKETS = 256;
const SOAK_INTERVAL_MS = 5000;
// roost's defaults, which the floor follows.
const SESSION_IDLE_SECONDS = 7 * 86400;
const DATABASE_POOL_SIZE = 10;

const cleanups: Array<() => Promise<void>> = [];
const cleanup = async () => {
  for (const step of cleanups.reverse()) await step().catch((error: unknown) => console.error('cleanup:', error));
  cleanups.length = 0;
};
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const runStarted = performance.now();
  const loadBefore = os.loadavg();
  // The load average trails by minutes; what the cores do right now says whether the machine is quiet.
  const redisProbe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redisProbe.connect();
  cleanups.push(async () => void (await redisProbe.quit()));
  const redisPid = await redisProcessId(redisProbe);
  const idleBefore = machineCpu();
  const idleNoise = await idleRates(redisPid, 2000);
  const busyCoresBefore = round((machineCpu().busyMs - idleBefore.busyMs) / 2000, 2);
  say(
    `roost benchmark: ${busyCoresBefore} cores busy with other work, load average ${loadBefore.map((n) => n.toFixed(2)).join(' ')} on ${os.cpus().length} cores; ` +
      `idle postgres processes ${idleNoise.postgresMsPerSec} ms/s, redis-server ${idleNoise.redisMsPerSec ?? '–'} ms/s`,
  );

  const db = await createBenchDatabase(ADMIN_DATABASE_URL);
  cleanups.push(() => db.drop());
  const provider = await startHelper('provider', { BENCH_CONSUMER_KEY: CONSUMER_KEY, BENCH_CONSUMER_SECRET: CONSUMER_SECRET, BENCH_LATENCY_MS: String(LATENCIES[0] ?? 0) });
  cleanups.push(() => provider.stop());

  // Kept when roost runs with extra Node flags (a profiling run), so their output can be read, and when the run fails.
  if (process.env.BENCH_ROOST_NODE_ARGS) say(`roost's log: ${logPath}`);
  const roostEnv = (port: number, urls: { databaseUrl: string; redisUrl: string }) => ({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    TWITTER_CONSUMER_KEY: CONSUMER_KEY,
    TWITTER_CONSUMER_SECRET: CONSUMER_SECRET,
    TWITTER_API_URL: provider.url,
    RETURN_TO_URLS: RETURN_TO,
    COOKIE_SECRET: COOKIE_SECRET_HEX,
    ENCRYPTION_KEY: ENCRYPTION_KEY_HEX,
    DATABASE_URL: urls.databaseUrl,
    REDIS_URL: urls.redisUrl,
    // Every browser of the driver comes from one address: the limiters still count each request in Redis, they never refuse one.
    LOGIN_RATE_LIMIT: '1000000',
    TOKEN_RATE_LIMIT: '1000000',
  });
  const env = roostEnv(await freePort(), { databaseUrl: db.url, redisUrl: REDIS_URL });

  // The first start creates the schema and the signing key; the next ones find them.
  say('starting roost (production mode, fresh database)…');
  const first = await startRoost(env, logPath);
  await stopRoost(first);
  const restarts: RoostProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const started = await startRoost(env, logPath);
    restarts.push(started);
    if (i < 2) await stopRoost(started);
  }
  const roost = restarts[restarts.length - 1] as RoostProcess;
  cleanups.push(() => roost.stop());
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = processMemory(roost.pid);
  const afterPhases: RunMemory['afterPhases'] = [];
  const phaseDone = (phase: string) => afterPhases.push({ phase, ...processMemory(roost.pid) });
  phaseDone('start-up');
  const startup = {
    firstStartMs: round(first.readyMs, 0),
    readyMs: restarts.map((r) => round(r.readyMs, 0)),
    medianReadyMs: round(median(restarts.map((r) => r.readyMs)), 0),
    readyCpuMs: restarts.map((r) => round(r.readyCpuMs, 0)),
    medianReadyCpuMs: round(median(restarts.map((r) => r.readyCpuMs)), 0),
    loggedStartupMs: restarts.map((r) => r.loggedStartupMs ?? NaN),
  };
  say(`ready in ${startup.medianReadyMs} ms (first start with migrations: ${startup.firstStartMs} ms); idle RSS ${idle.rssMb} MB`);

  const watched = { providerPid: provider.pid, backendPids: db.backendPids, redisPid };
  const roostTarget: Target = { server: 'roost', url: roost.url, pid: roost.pid, verifyToken: tokenVerifier(roost.url) };
  const phaseSettings: PhaseSettings = { providerUrl: provider.url, returnTo: RETURN_TO, concurrency: OPERATION_CONCURRENCY, durationMs: FLOW_SECONDS * 1000, timeoutMs: TIMEOUT_MS, watched };
  const flowOptions = { serverUrl: roost.url, providerUrl: provider.url, returnTo: RETURN_TO, timeoutMs: TIMEOUT_MS, verifyToken: roostTarget.verifyToken };

  // The passport-twitter peer, a process of its own like the floor.
  const peerServer = await startHelper('peer', {
    BENCH_DATABASE_URL: db.url,
    BENCH_REDIS_URL: REDIS_URL,
    BENCH_PROVIDER_URL: provider.url,
    BENCH_CONSUMER_KEY: CONSUMER_KEY,
    BENCH_CONSUMER_SECRET: CONSUMER_SECRET,
    BENCH_RETURN_TO: RETURN_TO,
    BENCH_POOL_SIZE: String(DATABASE_POOL_SIZE),
  });
  cleanups.push(() => peerServer.stop());
  const peerTarget: Target = { server: 'peer', url: peerServer.url, pid: peerServer.pid, verifyToken: tokenVerifier(peerServer.url, 'peer'), cookie: PEER_COOKIE, refreshTokens: false };

  say(`warming up roost and the passport-twitter peer for ${WARMUP_MS / 1000} s each…`);
  const warmConcurrency = Math.max(...CONCURRENCIES, OPERATION_CONCURRENCY);
  await runFlows({ ...flowOptions, concurrency: warmConcurrency, durationMs: WARMUP_MS });
  await measureSignIns(peerTarget, { ...phaseSettings, concurrency: warmConcurrency, durationMs: WARMUP_MS }, 'fragment');
  await takeProviderTimes(provider);

  // The sign-in matrix: each concurrency with the provider answering at once, then late. With the
  // provider answering at once, the peer's phase at the same concurrency follows roost's, so both meet the same machine.
  const flows: FlowPhase[] = [];
  const peer: OperationPhase[] = [];
  let lastToken: string | undefined;
  for (const latencyMs of LATENCIES) {
    await setProviderLatency(provider, latencyMs);
    for (const concurrency of CONCURRENCIES) {
      const before = await takeSnapshot({ ...watched, serverPid: roost.pid });
      const run = await runFlows({ ...flowOptions, concurrency, durationMs: FLOW_SECONDS * 1000 });
      const after = await takeSnapshot({ ...watched, serverPid: roost.pid });
      const phase = flowPhase(concurrency, latencyMs, run, await takeProviderTimes(provider), before, after);
      flows.push(phase);
      lastToken = run.samples.at(-1)?.accessToken ?? lastToken;
      say(
        `flows c=${concurrency} latency=${latencyMs} ms: ${phase.flowsPerSec}/s, ${phase.errorCount} errors, ` +
          `flow p50 ${phase.latencyMs.flow.p50} p99 ${phase.latencyMs.flow.p99} ms, roost own p50 ${phase.latencyMs.roostOwn.p50} p99 ${phase.latencyMs.roostOwn.p99} ms, ` +
          `roost CPU ${phase.cpuMsPerFlow.server} ms/flow`,
      );
      if (latencyMs === 0) {
        const peerPhase = await measureSignIns(peerTarget, { ...phaseSettings, concurrency }, 'fragment');
        await takeProviderTimes(provider);
        peer.push(peerPhase);
        say(describeOperation(peerPhase));
      }
    }
  }
  await setProviderLatency(provider, 0);
  const afterFlows = processMemory(roost.pid);
  phaseDone('sign-in matrix');

  // The operations of a session's life, roost and its floor in turn.
  const floor = await startFloor(provider, db.url);
  cleanups.push(() => floor.stop());
  const floorTarget: Target = { server: 'floor', url: floor.url, pid: floor.pid, verifyToken: tokenVerifier(floor.url) };
  say('warming up the code mode and refreshes on roost, and every path of the floor…');
  for (const target of [roostTarget, floorTarget]) await warmUp(target, phaseSettings, target === floorTarget);
  const operations: OperationPhase[] = [];
  const matrixSignIn = flows.find((phase) => phase.concurrency === OPERATION_CONCURRENCY && phase.providerLatencyMs === 0);
  operations.push(matrixSignIn ? signInFromMatrix(matrixSignIn) : await measureSignIns(roostTarget, phaseSettings, 'fragment'));
  operations.push(await measureSignIns(floorTarget, phaseSettings, 'fragment'));
  for (const target of [roostTarget, floorTarget]) operations.push(await measureSignIns(target, phaseSettings, 'code'));
  for (const target of [roostTarget, floorTarget]) operations.push((await measureRefreshes(target, phaseSettings)).phase);
  for (const phase of operations.slice(1)) say(describeOperation(phase));
  phaseDone('operations');

  const floorToken = (await runFlows({ ...flowOptions, serverUrl: floor.url, verifyToken: floorTarget.verifyToken, concurrency: 1, durationMs: 10_000, flowsPerBrowser: 1 })).samples[0]?.accessToken;
  const ceilings = HTTP_SECONDS > 0 || SERIES_CONCURRENCIES.length > 0 ? await startCeilings(roost) : undefined;
  const http = HTTP_SECONDS > 0 ? await measureHttp(roost, floor, ceilings, lastToken, floorToken, watched) : [];
  if (HTTP_SECONDS > 0) phaseDone('HTTP');

  // The chart's series: what no phase measured at its concurrencies, shorter.
  const series = pointsFromPhases({ flows, operations, peer }, SERIES_CONCURRENCIES);
  const missing = pointsToMeasure(series, SERIES_CONCURRENCIES);
  if (missing.length > 0) {
    say(`measuring ${missing.length} more points of the chart, ${SERIES_SECONDS} s each…`);
    const targets: Record<'roost' | 'floor' | 'peer', Target> = { roost: roostTarget, floor: floorTarget, peer: peerTarget };
    const httpUrls = {
      'GET /me': { roost: { url: `${roost.url}/me`, token: lastToken }, floor: { url: `${floor.url}/me`, token: floorToken } },
      JWKS: { roost: { url: `${roost.url}/.well-known/jwks.json` }, 'node-http': { url: `${ceilings?.nodeHttp.url}/.well-known/jwks.json` }, fastify: { url: `${ceilings?.fastify.url}/.well-known/jwks.json` } },
    } as Record<string, Record<string, { url: string; token?: string | undefined }>>;
    for (const { operation, server, concurrency } of missing) {
      let point: SeriesPoint;
      if (operation === 'GET /me' || operation === 'JWKS') {
        const where = httpUrls[operation]?.[server];
        if (where === undefined) throw new Error(`no ${server} server for ${operation}`);
        const result = await loadHttp({ url: where.url, headers: where.token ? { authorization: `Bearer ${where.token}` } : {}, connections: concurrency, durationS: SERIES_SECONDS });
        point = { operation, server, concurrency, perSec: result.reqPerSec, p50: result.latencyMs.p50, p99: result.latencyMs.p99, seconds: result.elapsedS, failures: result.non2xx + result.errors, source: 'sweep' };
      } else {
        const target = targets[server as 'roost' | 'floor' | 'peer'];
        const settings = { ...phaseSettings, concurrency, durationMs: SERIES_SECONDS * 1000 };
        const phase =
          operation === 'refresh' ? (await measureRefreshes(target, settings)).phase : await measureSignIns(target, settings, operation === 'sign-in' ? 'fragment' : 'code');
        point = { operation, server, concurrency, perSec: phase.perSec, p50: phase.latencyMs.p50, p99: phase.latencyMs.p99, seconds: phase.seconds, failures: phase.errorCount, source: 'sweep' };
      }
      series.push(point);
      say(`  ${operation}, ${SERIES_NAMES[server]}, c=${concurrency}: ${point.perSec}/s, p99 ${point.p99} ms${point.failures > 0 ? `, ${point.failures} failed` : ''}`);
    }
    phaseDone('series');
  }
  await peerServer.stop();

  let overload: OverloadOperation[] | undefined;
  let soak: SoakResults | undefined;
  if (OVERLOAD_SECONDS > 0) {
    say(`overload: opening ${OVERLOAD_SESSIONS} sessions, then refresh and /me at ${OVERLOAD_FACTOR}× the rate roost saturates at…`);
    const opened = await runFlows({ ...flowOptions, concurrency: SATURATION_CONCURRENCY, durationMs: 60_000, flowsPerBrowser: Math.ceil(OVERLOAD_SESSIONS / SATURATION_CONCURRENCY) });
    const accessToken = opened.samples.at(-1)?.accessToken;
    if (accessToken === undefined) throw new Error(`no sign-in completed before the overload phase: ${JSON.stringify(opened.errors)}`);
    const measured = await measureOverload({
      url: roost.url,
      accessToken,
      refreshTokens: opened.samples.map((sample) => sample.refreshToken),
      saturationConcurrency: SATURATION_CONCURRENCY,
      saturationMs: SATURATION_MS,
      runMs: OVERLOAD_SECONDS * 1000,
      unloadedShare: 0.1,
      factor: OVERLOAD_FACTOR,
      timeoutMs: OVERLOAD_TIMEOUT_MS,
      maxSockets: OVERLOAD_SOCKETS,
      say,
    });
    overload = measured.operations;
    phaseDone('overload');

    if (SOAK_SECONDS > 0) {
      const saturationOf = (name: OverloadOperation['operation']) => overload?.find((phase) => phase.operation === name)?.saturation.admittedPerSec ?? 0;
      soak = await runSoak({
        url: roost.url,
        pid: roost.pid,
        providerUrl: provider.url,
        returnTo: RETURN_TO,
        verifyToken: roostTarget.verifyToken,
        seconds: SOAK_SECONDS,
        intervalMs: SOAK_INTERVAL_MS,
        share: SOAK_SHARE,
        saturationPerSec: {
          'sign-in': Math.max(...flows.filter((phase) => phase.providerLatencyMs === 0).map((phase) => phase.flowsPerSec)),
          refresh: saturationOf('refresh'),
          'GET /me': saturationOf('GET /me'),
          JWKS: http.find((phase) => phase.target === 'roost-jwks')?.reqPerSec ?? 0,
        },
        accessToken,
        refreshTokens: measured.refreshTokens,
        timeoutMs: TIMEOUT_MS,
        say,
      });
      say(`soak: RSS grew ${soak.rssGrowthPct}%, the heap ${soak.heapGrowthPct}% after the warm-up; garbage collection took ${soak.gcSharePct}% of roost's CPU`);
      phaseDone('soak');
    }
  }
  if (process.env.BENCH_ROOST_NODE_ARGS) say(readFileSync(`/proc/${roost.pid}/status`, 'utf8').split('\n').filter((line) => /^(Vm|Rss)/.test(line)).join('\n'));

  const census: CensusEntry[] = [];
  if (CENSUS_OPERATIONS > 0) {
    say(`counting round trips and commands over ${CENSUS_OPERATIONS} of each operation…`);
    const settings = { databaseUrl: db.url, redisUrl: REDIS_URL, providerUrl: provider.url, returnTo: RETURN_TO, operations: CENSUS_OPERATIONS, timeoutMs: TIMEOUT_MS };
    census.push(...(await takeCensus('roost', (urls) => startCensusRoost(roostEnv, urls, logPath), settings)));
    census.push(...(await takeCensus('floor', (urls) => startCensusFloor(provider, urls), settings)));
    census.push(...(await takeCensus('peer', (urls) => startCensusPeer(provider, urls), { ...settings, signInOnly: true })));
    for (const entry of census) say(`${entry.server} ${entry.operation}: ${entry.postgresRoundTrips} Postgres round trips, ${entry.redisCommands} Redis commands`);
  }

  let seeded: SeededResults | undefined;
  if (SEED_USERS > 0) {
    say(`seeding ${SEED_USERS} users and ${5 * SEED_USERS} sessions…`);
    const seed = await seedDatabase(db.url, {
      users: SEED_USERS,
      now: new Date(),
      idleSeconds: SESSION_IDLE_SECONDS,
      progress: (users) => say(`  ${users} users`),
    });
    say(`seeded in ${seed.seconds} s; the database is ${seed.databaseMb} MB`);
    await warmUp(roostTarget, phaseSettings, true);
    const again: OperationPhase[] = [];
    again.push(await measureSignIns(roostTarget, phaseSettings, 'fragment'));
    again.push(await measureSignIns(roostTarget, phaseSettings, 'code'));
    again.push((await measureRefreshes(roostTarget, phaseSettings)).phase);
    for (const phase of again) say(`seeded: ${describeOperation(phase)}`);
    const seededHttp = HTTP_SECONDS > 0 ? await measureHttp(roost, undefined, undefined, lastToken, undefined, watched) : [];
    seeded = { seed, operations: again, http: seededHttp };
    phaseDone('seeded');
  }
  const leftoverFlows = await countKeys(redisProbe, 'roost:flow:*');
  // Read after roost's last phase: VmHWM is the peak of its whole life.
  const end = processMemory(roost.pid);

  const results: BenchResults = {
    date: new Date().toISOString(),
    command: commandLine(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      busyCoresBefore,
      idleNoise,
      loadavgBefore: loadBefore.map((n) => round(n, 2)),
      loadavgAfter: os.loadavg().map((n) => round(n, 2)),
    },
    settings: {
      flowSeconds: FLOW_SECONDS,
      warmupSeconds: WARMUP_MS / 1000,
      latenciesMs: LATENCIES,
      concurrencies: CONCURRENCIES,
      operationConcurrency: OPERATION_CONCURRENCY,
      httpSeconds: HTTP_SECONDS,
      httpRounds: HTTP_ROUNDS,
      connections: CONNECTIONS,
      providerUsers: 10_000,
      seedUsers: SEED_USERS,
      seriesConcurrencies: SERIES_CONCURRENCIES,
      seriesSeconds: SERIES_SECONDS,
      overloadSeconds: OVERLOAD_SECONDS,
      overloadFactor: OVERLOAD_FACTOR,
      soakSeconds: SOAK_SECONDS,
    },
    startup,
    memory: { idle, afterFlows, end, afterPhases, peakRssMb: Math.max(end.peakRssMb, ...otherRoostPeaks) },
    flows,
    peer,
    operations,
    http,
    series,
    ...(overload ? { overload } : {}),
    ...(soak ? { soak } : {}),
    census,
    ...(seeded ? { seeded } : {}),
    leftoverFlowsInRedis: leftoverFlows,
    runSeconds: 0,
  };
  await cleanup();
  if (!process.env.BENCH_ROOST_NODE_ARGS) rmSync(logPath, { force: true });
  results.runSeconds = round((performance.now() - runStarted) / 1000, 1);

  const outDir = path.resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  // A seeded run is written beside the default one, not over it.
  const base = SEED_USERS > 0 ? `bench-seed-${SEED_USERS}` : 'bench';
  const markdown = renderMarkdown(results);
  const panels = chartPanels(results.series);
  writeFileSync(path.join(outDir, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  if (panels.length > 0) writeFileSync(path.join(outDir, `${base}.svg`), renderChart(panels, { title: `roost beside its floor and reference servers, ${results.date.slice(0, 10)}` }));
  writeFileSync(path.join(outDir, `${base}.md`), panels.length > 0 ? `![Throughput and p99 latency of each operation against concurrency](${base}.svg)\n\n${markdown}` : markdown);
  say(`\n${markdown}`);
  say(`written: ${['json', 'md', ...(panels.length > 0 ? ['svg'] : [])].map((ext) => path.relative(process.cwd(), path.join(outDir, `${base}.${ext}`))).join(', ')}`);
  if (args['update-readme']) {
    const page = path.resolve('docs', 'performance.md');
    writeFileSync(page, updateBenchSection(readFileSync(page, 'utf8'), markdown));
    say('docs/performance.md results updated');
  }
}

/** Peaks of the roost processes other than the measured one, each read just before it stops. */
const otherRoostPeaks: number[] = [];

async function stopRoost(instance: RoostProcess): Promise<void> {
  try {
    otherRoostPeaks.push(processMemory(instance.pid).peakRssMb);
  } catch {
    // Already gone.
  }
  await instance.stop();
}

async function startFloor(provider: Helper, databaseUrl: string, redisUrl = REDIS_URL): Promise<Helper> {
  return startHelper('floor', {
    BENCH_DATABASE_URL: databaseUrl,
    BENCH_REDIS_URL: redisUrl,
    BENCH_PROVIDER_URL: provider.url,
    BENCH_CONSUMER_KEY: CONSUMER_KEY,
    BENCH_CONSUMER_SECRET: CONSUMER_SECRET,
    BENCH_RETURN_TO: RETURN_TO,
    BENCH_POOL_SIZE: String(DATABASE_POOL_SIZE),
  });
}

async function startCensusRoost(
  roostEnv: (port: number, urls: { databaseUrl: string; redisUrl: string }) => Record<string, string>,
  urls: { databaseUrl: string; redisUrl: string },
  logPath: string,
): Promise<CensusServer> {
  const instance = await startRoost(roostEnv(await freePort(), urls), logPath);
  return { url: instance.url, verifyToken: tokenVerifier(instance.url), stop: () => stopRoost(instance) };
}

async function startCensusPeer(provider: Helper, urls: { databaseUrl: string; redisUrl: string }): Promise<CensusServer> {
  const instance = await startHelper('peer', {
    BENCH_DATABASE_URL: urls.databaseUrl,
    BENCH_REDIS_URL: urls.redisUrl,
    BENCH_PROVIDER_URL: provider.url,
    BENCH_CONSUMER_KEY: CONSUMER_KEY,
    BENCH_CONSUMER_SECRET: CONSUMER_SECRET,
    BENCH_RETURN_TO: RETURN_TO,
    BENCH_POOL_SIZE: String(DATABASE_POOL_SIZE),
  });
  return { url: instance.url, verifyToken: tokenVerifier(instance.url, 'peer'), cookie: PEER_COOKIE, refreshTokens: false, stop: () => instance.stop() };
}

async function startCensusFloor(provider: Helper, urls: { databaseUrl: string; redisUrl: string }): Promise<CensusServer> {
  const instance = await startFloor(provider, urls.databaseUrl, urls.redisUrl);
  return { url: instance.url, verifyToken: tokenVerifier(instance.url), stop: () => instance.stop() };
}

/** Bare node:http and Fastify servers sending the bytes roost's JWKS sends. */
async function startCeilings(roost: RoostProcess): Promise<{ nodeHttp: Helper; fastify: Helper }> {
  const jwksAnswer = await fetch(new URL('/.well-known/jwks.json', roost.url));
  const ceilingBody = JSON.stringify({
    body: await jwksAnswer.text(),
    contentType: jwksAnswer.headers.get('content-type') ?? 'application/json',
    cacheControl: jwksAnswer.headers.get('cache-control') ?? 'no-store',
  });
  const nodeHttp = await startHelper('node-http', { BENCH_CEILING_BODY: ceilingBody });
  cleanups.push(() => nodeHttp.stop());
  const fastify = await startHelper('fastify', { BENCH_CEILING_BODY: ceilingBody });
  cleanups.push(() => fastify.stop());
  return { nodeHttp, fastify };
}

/** JWKS and /me with autocannon, beside bare node:http and Fastify servers sending the same bytes, and the floor's /me. */
async function measureHttp(
  roost: RoostProcess,
  floor: Helper | undefined,
  ceilings: { nodeHttp: Helper; fastify: Helper } | undefined,
  token: string | undefined,
  floorToken: string | undefined,
  watched: PhaseSettings['watched'],
): Promise<HttpPhase[]> {
  if (token === undefined) throw new Error('no sign-in completed, so there is no token for /me');
  const targets: HttpTargetSpec[] = [];
  if (ceilings) {
    const { nodeHttp, fastify } = ceilings;
    targets.push(
      { target: 'node-http', name: 'node:http, same bytes as the JWKS', url: `${nodeHttp.url}/.well-known/jwks.json`, pid: nodeHttp.pid },
      { target: 'fastify', name: 'Fastify, same bytes as the JWKS', url: `${fastify.url}/.well-known/jwks.json`, pid: fastify.pid },
    );
  }
  targets.push({ target: 'roost-jwks', name: 'roost GET /.well-known/jwks.json', url: `${roost.url}/.well-known/jwks.json`, pid: roost.pid, rss: true });
  targets.push({ target: 'roost-me', name: 'roost GET /me', url: `${roost.url}/me`, pid: roost.pid, headers: { authorization: `Bearer ${token}` }, rss: true });
  if (floor && floorToken) targets.push({ target: 'floor-me', name: 'floor GET /me', url: `${floor.url}/me`, pid: floor.pid, headers: { authorization: `Bearer ${floorToken}` } });
  return measureHttpPhases(targets, { connections: CONNECTIONS, rounds: HTTP_ROUNDS, seconds: HTTP_SECONDS, watched, say });
}

async function takeProviderTimes(provider: Helper): Promise<Record<string, ProviderTimes>> {
  const response = await fetch(`${provider.url}${TIMES_PATH}`);
  return (await response.json()) as Record<string, ProviderTimes>;
}

async function setProviderLatency(provider: Helper, ms: number): Promise<void> {
  const response = await fetch(`${provider.url}${LATENCY_PATH}`, { method: 'PUT', body: String(ms) });
  if (response.status !== 204) throw new Error(`the provider refused latency ${ms}`);
}

async function redisProcessId(redis: Redis): Promise<number | undefined> {
  const info = await redis.info('server');
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  try {
    processCpuMs(pid);
    return pid;
  } catch {
    // Another machine's, or not readable: Redis's CPU is not measured.
    return undefined;
  }
}

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

function commandLine(): string {
  const extra = process.argv.slice(2).join(' ');
  return `npm run bench${extra ? ` -- ${extra}` : ''}`;
}

export type { Memory };

main().catch(async (error: unknown) => {
  console.error(error);
  console.error(`roost's log: ${logPath}`);
  await cleanup();
  process.exit(1);
});
