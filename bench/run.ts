// `npm run bench`: how fast is a sign-in, and what bounds it. Starts the
// lean provider, a fresh database and roost in production mode, drives
// complete sign-ins at several concurrencies, measures the JWKS and /me
// against bare node:http and Fastify servers, and writes bench/results/.
// Options: --duration S (per flow phase, default 10), --latency MS[,MS…]
// (added provider latency, default 0,50), --concurrency N[,N…] (default
// 1,16,64), --http-duration S (per HTTP target, in 3 rounds; default 9),
// --connections N (default 50), --out DIR (default bench/results),
// --update-readme (rewrite the results table in docs/performance.md).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { runFlows, type FlowSample } from './flow-driver.js';
import { measureHttp, type HttpLoadResult } from './http-load.js';
import { LATENCY_PATH, TIMES_PATH, type ProviderTimes } from './load-provider.js';
import { machineCpu, processCpu, processCpuMs, processesCpuMs, processMemory, type Memory } from './proc.js';
import { createBenchDatabase, freePort, startHelper, startRoost, type BenchDatabase, type Helper, type RoostProcess } from './processes.js';
import { renderMarkdown, updateBenchSection, type BenchResults, type FlowPhase, type HttpPhase } from './report.js';
import { median, round, summarize } from './stats.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    latency: { type: 'string', default: '0,50' },
    concurrency: { type: 'string', default: '1,16,64' },
    'http-duration': { type: 'string', default: '9' },
    connections: { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench/results' },
    'update-readme': { type: 'boolean', default: false },
  },
});
const numbers = (text: string) => text.split(',').map((item) => Number(item.trim()));
const FLOW_SECONDS = Number(args.duration);
const LATENCIES = numbers(args.latency);
const CONCURRENCIES = numbers(args.concurrency);
const HTTP_SECONDS = Number(args['http-duration']);
const CONNECTIONS = Number(args.connections);
if ([FLOW_SECONDS, HTTP_SECONDS, CONNECTIONS, ...LATENCIES, ...CONCURRENCIES].some((n) => !Number.isFinite(n) || n < 0) || FLOW_SECONDS > 60 || HTTP_SECONDS > 60) {
  throw new Error('durations must be 0–60 s; latencies, concurrencies and connections non-negative numbers');
}

const ADMIN_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// A Redis database of its own: nothing is ever flushed, flows are taken or expire.
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const APP_ORIGIN = 'http://app.bench.test';
const CONSUMER_KEY = 'bench-consumer-key';
const CONSUMER_SECRET = randomBytes(16).toString('hex');
// Long enough for V8 to compile the hot paths: a server's steady state is what counts.
const WARMUP_MS = 5000;
// The HTTP targets take turns, so a burst of other work on the machine hits them all alike.
const HTTP_ROUNDS = 3;

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
  const idleBefore = machineCpu();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idleAfter = machineCpu();
  const busyCoresBefore = round((idleAfter.busyMs - idleBefore.busyMs) / 2000, 2);
  say(`roost benchmark: ${busyCoresBefore} cores busy with other work, load average ${loadBefore.map((n) => n.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);

  const db = await createBenchDatabase(ADMIN_DATABASE_URL);
  cleanups.push(() => db.drop());
  const provider = await startHelper('provider', {
    BENCH_CONSUMER_KEY: CONSUMER_KEY,
    BENCH_CONSUMER_SECRET: CONSUMER_SECRET,
    BENCH_LATENCY_MS: String(LATENCIES[0] ?? 0),
  });
  cleanups.push(() => provider.stop());

  const port = await freePort();
  const logPath = path.join(os.tmpdir(), `roost-bench-${process.pid}.log`);
  // Kept when roost runs with extra Node flags (a profiling run), so their output can be read.
  if (process.env.BENCH_ROOST_NODE_ARGS) say(`roost's log: ${logPath}`);
  else cleanups.push(async () => rmSync(logPath, { force: true }));
  const roostEnv = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    TWITTER_CONSUMER_KEY: CONSUMER_KEY,
    TWITTER_CONSUMER_SECRET: CONSUMER_SECRET,
    TWITTER_API_URL: provider.url,
    RETURN_TO_URLS: `${APP_ORIGIN}/signed-in`,
    COOKIE_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    DATABASE_URL: db.url,
    REDIS_URL,
    // Every browser of the driver comes from one address: the limiter still counts each request in Redis, it never refuses one.
    LOGIN_RATE_LIMIT: '1000000',
  };

  // The first start creates the schema and the signing key; the next ones find them.
  say('starting roost (production mode, fresh database)…');
  const first = await startRoost(roostEnv, logPath);
  await first.stop();
  const restarts: RoostProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const started = await startRoost(roostEnv, logPath);
    restarts.push(started);
    if (i < 2) await started.stop();
  }
  const roost = restarts[restarts.length - 1] as RoostProcess;
  cleanups.push(() => roost.stop());
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = processMemory(roost.pid);
  const startup = {
    firstStartMs: round(first.readyMs, 0),
    readyMs: restarts.map((r) => round(r.readyMs, 0)),
    medianReadyMs: round(median(restarts.map((r) => r.readyMs)), 0),
    readyCpuMs: restarts.map((r) => round(r.readyCpuMs, 0)),
    medianReadyCpuMs: round(median(restarts.map((r) => r.readyCpuMs)), 0),
    loggedStartupMs: restarts.map((r) => r.loggedStartupMs ?? NaN),
  };
  say(`ready in ${startup.medianReadyMs} ms (first start with migrations: ${startup.firstStartMs} ms); idle RSS ${idle.rssMb} MB`);

  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', roost.url));
  const verifyToken = async (token: string) => {
    const { payload } = await jwtVerify(token, jwks, { issuer: roost.url, algorithms: ['ES256'], typ: 'at+jwt' });
    if (typeof payload.twitter_id !== 'string' || !/^\d+$/.test(payload.twitter_id) || typeof payload.sub !== 'string') {
      throw Object.assign(new Error('unexpected claims'), { code: 'claims' });
    }
  };
  const flowOptions = { roostUrl: roost.url, providerUrl: provider.url, returnTo: `${APP_ORIGIN}/signed-in`, timeoutMs: 10_000, verifyToken };
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  cleanups.push(async () => void (await redis.quit()));
  const redisPid = await redisProcessId(redis);

  say(`warming up for ${WARMUP_MS / 1000} s…`);
  await runFlows({ ...flowOptions, concurrency: Math.max(...CONCURRENCIES), durationMs: WARMUP_MS });
  await takeProviderTimes(provider);

  const flows: FlowPhase[] = [];
  let lastToken: string | undefined;
  for (const latencyMs of LATENCIES) {
    await setProviderLatency(provider, latencyMs);
    for (const concurrency of CONCURRENCIES) {
      const before = await snapshot(roost, provider, db, redisPid);
      const run = await runFlows({ ...flowOptions, concurrency, durationMs: FLOW_SECONDS * 1000 });
      const after = await snapshot(roost, provider, db, redisPid);
      const times = await takeProviderTimes(provider);
      const phase = flowPhase(concurrency, latencyMs, run.samples, run.errors, run.elapsedMs, times, before, after);
      flows.push(phase);
      lastToken = run.samples.at(-1)?.accessToken ?? lastToken;
      say(
        `flows c=${concurrency} latency=${latencyMs} ms: ${phase.flowsPerSec}/s, ${phase.errorCount} errors, ` +
          `flow p50 ${phase.latencyMs.flow.p50} p99 ${phase.latencyMs.flow.p99} ms, roost own p50 ${phase.latencyMs.roostOwn.p50} p99 ${phase.latencyMs.roostOwn.p99} ms, ` +
          `roost CPU ${phase.cpuMsPerFlow.roost} ms/flow`,
      );
    }
  }
  const afterFlows = processMemory(roost.pid);
  const http = HTTP_SECONDS > 0 ? await measureHttpPhases(roost, lastToken) : [];
  const end = processMemory(roost.pid);
  if (process.env.BENCH_ROOST_NODE_ARGS) say(readFileSync(`/proc/${roost.pid}/status`, 'utf8').split('\n').filter((line) => /^(Vm|Rss)/.test(line)).join('\n'));
  const leftoverFlows = await countKeys(redis, 'roost:flow:*');

  const results: BenchResults = {
    date: new Date().toISOString(),
    command: commandLine(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      busyCoresBefore,
      loadavgBefore: loadBefore.map((n) => round(n, 2)),
      loadavgAfter: os.loadavg().map((n) => round(n, 2)),
    },
    settings: { flowSeconds: FLOW_SECONDS, warmupSeconds: WARMUP_MS / 1000, latenciesMs: LATENCIES, concurrencies: CONCURRENCIES, httpSeconds: HTTP_SECONDS, httpRounds: HTTP_ROUNDS, connections: CONNECTIONS, providerUsers: 10_000 },
    startup,
    memory: { idle, afterFlows, end, peakRssMb: end.peakRssMb },
    flows,
    http,
    leftoverFlowsInRedis: leftoverFlows,
    runSeconds: 0,
  };
  await cleanup();
  results.runSeconds = round((performance.now() - runStarted) / 1000, 1);

  const outDir = path.resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(results);
  writeFileSync(path.join(outDir, 'bench.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'bench.md'), markdown);
  say(`\n${markdown}`);
  say(`written: ${path.relative(process.cwd(), path.join(outDir, 'bench.json'))}, ${path.relative(process.cwd(), path.join(outDir, 'bench.md'))}`);
  if (args['update-readme']) {
    const page = path.resolve('docs', 'performance.md');
    writeFileSync(page, updateBenchSection(readFileSync(page, 'utf8'), markdown));
    say('docs/performance.md results updated');
  }
}

/** JWKS and /me with autocannon, beside bare node:http and Fastify servers sending the same bytes. */
async function measureHttpPhases(roost: RoostProcess, token: string | undefined): Promise<HttpPhase[]> {
  // The JWKS bytes roost serves, so the ceilings send exactly the same.
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
  if (token === undefined) throw new Error('no sign-in completed, so there is no token for /me');
  const targets: Array<{ name: string; url: string; pid: number; headers?: Record<string, string> }> = [
    { name: 'node:http, same bytes as the JWKS', url: `${nodeHttp.url}/.well-known/jwks.json`, pid: nodeHttp.pid },
    { name: 'Fastify, same bytes as the JWKS', url: `${fastify.url}/.well-known/jwks.json`, pid: fastify.pid },
    { name: 'roost GET /.well-known/jwks.json', url: `${roost.url}/.well-known/jwks.json`, pid: roost.pid },
    { name: 'roost GET /me', url: `${roost.url}/me`, pid: roost.pid, headers: { authorization: `Bearer ${token}` } },
  ];
  for (const target of targets) await measureHttp({ url: target.url, headers: target.headers ?? {}, connections: CONNECTIONS, durationS: 1 });
  const tallies = targets.map((target) => ({ target, results: [] as HttpLoadResult[], cpuMs: 0, loadavg1: [] as number[], rssAfterMb: [] as number[] }));
  for (let round = 0; round < HTTP_ROUNDS; round++) {
    for (const tally of tallies) {
      const { url, pid, headers } = tally.target;
      const cpuBefore = processCpuMs(pid);
      tally.loadavg1.push(os.loadavg()[0] as number);
      tally.results.push(await measureHttp({ url, headers: headers ?? {}, connections: CONNECTIONS, durationS: HTTP_SECONDS / HTTP_ROUNDS }));
      tally.cpuMs += processCpuMs(pid) - cpuBefore;
      if (pid === roost.pid) tally.rssAfterMb.push(processMemory(pid).rssMb);
    }
  }
  const http = tallies.map(({ target, results, cpuMs, loadavg1, rssAfterMb }): HttpPhase => {
    // The median round speaks for the target; requests, failures and CPU count over all rounds.
    const middle = [...results].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(results.length / 2)] as HttpLoadResult;
    const sum = (pick: (result: HttpLoadResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const phase: HttpPhase = {
      name: target.name,
      ...middle,
      requests: sum((r) => r.requests),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      roundsReqPerSec: results.map((r) => r.reqPerSec),
      serverCpuMsPerRequest: round(cpuMs / Math.max(1, sum((r) => r.requests)), 4),
      loadavg1: round(Math.max(...loadavg1), 2),
      ...(rssAfterMb.length > 0 ? { roostRssAfterMb: rssAfterMb } : {}),
    };
    say(
      `${target.name}: ${phase.reqPerSec} req/s (rounds ${phase.roundsReqPerSec.join(', ')}), p50 ${phase.latencyMs.p50} ms, p99 ${phase.latencyMs.p99} ms, ` +
        `non-2xx ${phase.non2xx}, errors ${phase.errors}${rssAfterMb.length > 0 ? `, roost RSS after each round ${rssAfterMb.join(', ')} MB` : ''}`,
    );
    return phase;
  });
  return http;
}

interface Snapshot {
  readonly at: number;
  readonly roostCpu: number;
  readonly roostSystemCpu: number;
  readonly providerCpu: number;
  readonly driverCpu: number;
  readonly postgresCpu: Map<number, number>;
  readonly redisCpu: number | undefined;
  readonly machine: { busyMs: number; totalMs: number };
  readonly loadavg1: number;
}

async function snapshot(roost: RoostProcess, provider: Helper, db: BenchDatabase, redisPid: number | undefined): Promise<Snapshot> {
  const backends = await db.backendPids();
  const usage = process.cpuUsage();
  const roostCpu = processCpu(roost.pid);
  return {
    at: performance.now(),
    roostCpu: roostCpu.userMs + roostCpu.systemMs,
    roostSystemCpu: roostCpu.systemMs,
    providerCpu: processCpuMs(provider.pid),
    driverCpu: (usage.user + usage.system) / 1000,
    postgresCpu: new Map(backends.map((pid) => [pid, processesCpuMs([pid])])),
    redisCpu: redisPid === undefined ? undefined : safe(() => processCpuMs(redisPid)),
    machine: machineCpu(),
    loadavg1: os.loadavg()[0] as number,
  };
}

function flowPhase(
  concurrency: number,
  latencyMs: number,
  samples: FlowSample[],
  errors: Record<string, number>,
  elapsedMs: number,
  times: Record<string, ProviderTimes>,
  before: Snapshot,
  after: Snapshot,
): FlowPhase {
  const completed = samples.length;
  const per = (ms: number) => round(ms / Math.max(1, completed), 3);
  // Backends that appeared during the phase started from zero.
  let postgres = 0;
  for (const [pid, cpu] of after.postgresCpu) postgres += cpu - (before.postgresCpu.get(pid) ?? 0);
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
  const wallMs = after.at - before.at;
  return {
    concurrency,
    providerLatencyMs: latencyMs,
    seconds: round(elapsedMs / 1000, 2),
    completed,
    flowsPerSec: Math.round((completed * 1000) / elapsedMs),
    errorCount: Object.values(errors).reduce((sum, n) => sum + n, 0),
    errors,
    latencyMs: {
      flow: summarize(samples.map((s) => s.total)),
      login: summarize(samples.map((s) => s.login)),
      authenticate: summarize(samples.map((s) => s.authenticate)),
      callback: summarize(samples.map((s) => s.callback)),
      verify: summarize(samples.map((s) => s.verify)),
      provider: summarize(providerShare),
      roostOwn: summarize(roostOwn),
      roostOwnLogin: summarize(loginOwn),
      roostOwnCallback: summarize(callbackOwn),
    },
    cpuMsPerFlow: {
      roost: per(after.roostCpu - before.roostCpu),
      roostKernel: per(after.roostSystemCpu - before.roostSystemCpu),
      provider: per(after.providerCpu - before.providerCpu),
      driver: per(after.driverCpu - before.driverCpu),
      postgres: per(postgres),
      redis: after.redisCpu === undefined || before.redisCpu === undefined ? null : per(after.redisCpu - before.redisCpu),
    },
    machineBusyCores: round((after.machine.busyMs - before.machine.busyMs) / wallMs, 2),
    loadavg1: [round(before.loadavg1, 2), round(after.loadavg1, 2)],
  };
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
  return Number.isInteger(pid) && safe(() => processCpuMs(pid)) !== undefined ? pid : undefined;
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

function safe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function commandLine(): string {
  const extra = process.argv.slice(2).join(' ');
  return `npm run bench${extra ? ` -- ${extra}` : ''}`;
}

export type { Memory };

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
