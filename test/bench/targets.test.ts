// The benchmark holds roost to ratios measured in the same run: each
// operation's CPU against its floor and the sign-in's against the passport
// peer, the refresh against one bare node:http request and against
// Postgres's share, /me and the JWKS against bare servers, the tail under
// overload against the unloaded one, a soak's end against its start. A
// figure the run did not measure is said to be missing, never met.
import t from 'tap';
import type { LoadRun } from '../../bench/open-loop.js';
import type { OverloadOperation } from '../../bench/overload.js';
import { renderMarkdown } from '../../bench/report.js';
import type { BenchResults, FlowPhase, HttpPhase, HttpTarget, OperationName, OperationPhase, Server } from '../../bench/results.js';
import type { CpuPerOp } from '../../bench/snapshots.js';
import { summarize } from '../../bench/stats.js';
import { checkTargets } from '../../bench/targets.js';

const cpu = (server: number, postgres = 0): CpuPerOp => ({ server, serverKernel: 0, provider: 0, driver: 0, postgres, postgresOther: 0, redis: 0.01 });

const operation = (name: OperationName, server: Server, serverCpu: number, postgres = 0): OperationPhase => ({
  operation: name,
  server,
  concurrency: 16,
  seconds: 10,
  completed: 1000,
  perSec: 100,
  errorCount: 0,
  errors: {},
  latencyMs: summarize([1, 2, 3]),
  cpuMsPerOp: cpu(serverCpu, postgres),
  machineBusyCores: 1.9,
});

const http = (target: HttpTarget, reqPerSec: number, serverCpu: number): HttpPhase => ({
  target,
  name: target,
  requests: reqPerSec * 9,
  reqPerSec,
  latencyMs: { p50: 1, p99: 3, max: 9 },
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  elapsedS: 3,
  roundsReqPerSec: [reqPerSec, reqPerSec, reqPerSec],
  cpuMsPerRequest: cpu(serverCpu),
  loadavg1: 1,
});

function results(overrides: Partial<BenchResults> = {}): BenchResults {
  return {
    date: '2026-12-01T10:00:00.000Z',
    command: 'npm run bench',
    machine: { cpus: 2, cpuModel: 'test', memoryGb: 8, node: 'v20', busyCoresBefore: 0, idleNoise: { postgresMsPerSec: 1, redisMsPerSec: 0.5 }, loadavgBefore: [0, 0, 0], loadavgAfter: [0, 0, 0] },
    settings: {
      flowSeconds: 10,
      warmupSeconds: 5,
      latenciesMs: [],
      concurrencies: [],
      operationConcurrency: 16,
      httpSeconds: 9,
      httpRounds: 3,
      connections: 50,
      providerUsers: 10,
      seedUsers: 0,
      seriesConcurrencies: [1, 16, 64],
      seriesSeconds: 3,
      overloadSeconds: 5,
      overloadFactor: 4,
      soakSeconds: 0,
    },
    startup: { firstStartMs: 600, readyMs: [500], medianReadyMs: 500, readyCpuMs: [700], medianReadyCpuMs: 700, loggedStartupMs: [200] },
    memory: { idle: { rssMb: 100, peakRssMb: 100 }, afterFlows: { rssMb: 110, peakRssMb: 110 }, end: { rssMb: 110, peakRssMb: 115 }, afterPhases: [], peakRssMb: 115 },
    flows: [],
    peer: [operation('sign-in', 'peer', 4.0)],
    series: [],
    operations: [
      operation('sign-in', 'roost', 1.0),
      operation('sign-in', 'floor', 0.4),
      operation('code sign-in + redemption', 'roost', 1.2),
      operation('refresh', 'roost', 0.3, 0.35),
      operation('refresh', 'floor', 0.2),
    ],
    http: [http('node-http', 50_000, 0.02), http('fastify', 45_000, 0.022), http('roost-jwks', 40_000, 0.03), http('roost-me', 5000, 0.2), http('floor-me', 9000, 0.15)],
    census: [{ operation: 'refresh', server: 'roost', operations: 20, postgresRoundTrips: 1, redisCommands: 1 }],
    leftoverFlowsInRedis: 0,
    runSeconds: 200,
    ...overrides,
  };
}

const byWhat = (checks: ReturnType<typeof checkTargets>) => new Map(checks.map((check) => [check.what, check]));

t.test('each target is a ratio of the same run, met or missed', async (t) => {
  const checks = byWhat(checkTargets(results()));
  t.match(checks.get('refresh: roost CPU vs one request to bare node:http'), { measured: '15×', met: true });
  t.match(checks.get('refresh: Postgres CPU vs roost CPU'), { measured: '1.17×', met: false });
  t.match(checks.get('/me req/s vs node:http'), { measured: '10%', met: false });
  t.match(checks.get('JWKS req/s vs Fastify serving the same bytes'), { measured: '89%', met: true });
  t.match(checks.get("sign-in: roost's CPU per operation vs its floor"), { measured: '2.5×', met: false });
  t.match(checks.get("refresh: roost's CPU per operation vs its floor"), { measured: '1.5×', met: true });
  t.match(checks.get("GET /me: roost's CPU per operation vs its floor"), { measured: '1.3×', met: true });
  t.match(checks.get("GET /.well-known/jwks.json: roost's CPU per operation vs its floor"), { measured: '1.5×', met: true });
});

t.test('what was not measured is neither met nor missed', async (t) => {
  const checks = byWhat(checkTargets(results({ http: [] })));
  t.match(checks.get("code sign-in + redemption: roost's CPU per operation vs its floor"), { measured: 'not measured', met: undefined });
  t.match(checks.get('/me req/s vs node:http'), { measured: 'not measured', met: undefined });
  t.match(checks.get('refresh: roost CPU vs one request to bare node:http'), { measured: 'not measured', met: undefined });
  const noPeer = byWhat(checkTargets(results({ peer: [] })));
  t.match(noPeer.get(PEER_TARGET), { measured: 'not measured', met: undefined });
  const peerElsewhere = byWhat(checkTargets(results({ peer: [{ ...operation('sign-in', 'peer', 4.0), concurrency: 64 }] })));
  t.match(peerElsewhere.get(PEER_TARGET), { measured: 'not measured', met: undefined }, 'the peer at another concurrency is no comparison');
  const peerFailed = byWhat(checkTargets(results({ peer: [{ ...operation('sign-in', 'peer', 4.0), completed: 0 }] })));
  t.match(peerFailed.get(PEER_TARGET), { measured: 'not measured', met: undefined }, 'a peer that completed nothing is no comparison');
  t.match(checks.get('refresh: p99 of what is admitted at 4× the saturation rate vs unloaded'), { measured: 'not measured', met: undefined });
  t.match(checks.get('roost RSS growth over a soak, after its warm-up'), { measured: /^not measured \(npm run bench -- --soak 600\)/, met: undefined });
});

const PEER_TARGET = 'sign-in: roost CPU vs the passport-twitter peer (bench/peer.ts), concurrency 16, 0 ms provider';

t.test('roost’s sign-in is held to a third of the passport peer’s CPU at the same concurrency', async (t) => {
  t.match(byWhat(checkTargets(results())).get(PEER_TARGET), { measured: '0.25×', met: true });
  const heavier = byWhat(checkTargets(results({ peer: [operation('sign-in', 'peer', 2.5)] })));
  t.match(heavier.get(PEER_TARGET), { measured: '0.4×', met: false });
});

const run = (fields: Partial<LoadRun> & { p99: number }): LoadRun => ({
  targetPerSec: 100,
  seconds: 5,
  sent: 500,
  admitted: 500,
  admittedPerSec: 100,
  latencyMs: { ...summarize([1, 2]), p99: fields.p99 },
  shed: {},
  shedWithRetryAfter: 0,
  failed: {},
  driverLagMs: summarize([0.1]),
  ...fields,
});

const overloaded = (operation: OverloadOperation['operation'], unloadedP99: number, over: Partial<LoadRun> & { p99: number }): OverloadOperation => ({
  operation,
  saturationConcurrency: 64,
  saturation: run({ p99: 50, admittedPerSec: 900 }),
  unloaded: run({ p99: unloadedP99 }),
  overloaded: run(over),
  factor: 4,
  timeoutMs: 5000,
  runSeconds: 5,
});

t.test('under overload, the tail of what is admitted against the unloaded one, and Retry-After on every shed answer', async (t) => {
  const checks = byWhat(
    checkTargets(
      results({
        overload: [
          overloaded('refresh', 4, { p99: 30, shed: { '503': 900, '429': 100 }, shedWithRetryAfter: 1000 }),
          overloaded('GET /me', 2, { p99: 2500, shed: { '503': 10 }, shedWithRetryAfter: 9 }),
        ],
      }),
    ),
  );
  t.match(checks.get('refresh: p99 of what is admitted at 4× the saturation rate vs unloaded'), { measured: '7.5× (30 vs 4 ms)', met: true });
  t.match(checks.get('refresh: answers shed under overload (429, 503) that carry Retry-After'), { measured: '1000 of 1000', met: true });
  t.match(checks.get('GET /me: p99 of what is admitted at 4× the saturation rate vs unloaded'), { measured: '1250× (2500 vs 2 ms)', met: false });
  t.match(checks.get('GET /me: answers shed under overload (429, 503) that carry Retry-After'), { measured: '9 of 10', met: false });

  const nothingShed = byWhat(checkTargets(results({ overload: [overloaded('refresh', 4, { p99: 8 })] })));
  t.match(nothingShed.get('refresh: answers shed under overload (429, 503) that carry Retry-After'), { measured: 'none shed', met: undefined });
  const nothingAdmitted = byWhat(checkTargets(results({ overload: [overloaded('refresh', 4, { p99: NaN, admitted: 0, shed: { '503': 500 }, shedWithRetryAfter: 500 })] })));
  t.match(nothingAdmitted.get('refresh: p99 of what is admitted at 4× the saturation rate vs unloaded'), { measured: 'nothing admitted', met: false }, 'refusing everything is no answer to overload');
});

t.test('a soak holds RSS and heap growth to 5%', async (t) => {
  const soak = (rssGrowthPct: number, heapGrowthPct: number) =>
    results({
      soak: {
        seconds: 600,
        warmupSeconds: 60,
        intervalSeconds: 5,
        share: 0.5,
        saturationPerSec: { 'sign-in': 400, refresh: 900, 'GET /me': 2000, JWKS: 10000 },
        ratesPerSec: { 'sign-in': 50, refresh: 112.5, 'GET /me': 350, JWKS: 750 },
        runs: { 'sign-in': run({ p99: 80 }), refresh: run({ p99: 20 }), 'GET /me': run({ p99: 10 }), JWKS: run({ p99: 3 }) },
        samples: [],
        rssGrowthPct,
        heapGrowthPct,
        gcSharePct: 4.2,
      },
    });
  const flat = byWhat(checkTargets(soak(1.2, -0.5)));
  t.match(flat.get('roost RSS growth over a soak, after its warm-up'), { measured: '1.2% (600 s)', met: true });
  t.match(flat.get('roost V8 heap in use growth over a soak, after its warm-up'), { measured: '-0.5% (600 s)', met: true });
  const leaking = byWhat(checkTargets(soak(3, 12.5)));
  t.match(leaking.get('roost V8 heap in use growth over a soak, after its warm-up'), { measured: '12.5% (600 s)', met: false });
  const broken = byWhat(checkTargets(soak(NaN, NaN)));
  t.match(broken.get('roost RSS growth over a soak, after its warm-up'), { measured: 'not measured', met: undefined });
  t.match(renderMarkdown(soak(1.2, 12.5)), /\*\*RSS 1\.2%\*\*, \*\*heap 12\.5%\*\*; garbage collection took \*\*4\.2%\*\* of roost's CPU time/);
});

t.test('the peak RSS target covers every phase, and the report says where it was reached', async (t) => {
  const memory = {
    idle: { rssMb: 90, peakRssMb: 92 },
    afterFlows: { rssMb: 100, peakRssMb: 110 },
    end: { rssMb: 105, peakRssMb: 131 },
    afterPhases: [
      { phase: 'start-up', rssMb: 90, peakRssMb: 92 },
      { phase: 'HTTP', rssMb: 101, peakRssMb: 118 },
      { phase: 'overload', rssMb: 105, peakRssMb: 131 },
    ],
    peakRssMb: 131,
  };
  const checks = byWhat(checkTargets(results({ memory })));
  t.match(checks.get('peak RSS through the whole run, every phase (production mode)'), { measured: '131 MB', met: false });
  t.match(renderMarkdown(results({ memory })), /\| peak RSS so far \(VmHWM\) after each phase, MB \| start-up 92 · HTTP 118 · overload 131 \|/);
});

t.test('the report sets the sign-in beside the peer at each concurrency, and shows the overload', async (t) => {
  const flow = (concurrency: number, cpu: number): FlowPhase => {
    const summary = summarize([5, 6, 7]);
    return {
      concurrency,
      providerLatencyMs: 0,
      seconds: 10,
      completed: 1000,
      flowsPerSec: 100,
      errorCount: 0,
      errors: {},
      latencyMs: { flow: summary, browser: summary, login: summary, authenticate: summary, callback: summary, verify: summary, provider: summary, roostOwn: summary, roostOwnLogin: summary, roostOwnCallback: summary },
      cpuMsPerFlow: { server: cpu, serverKernel: 0, provider: 0, driver: 0, postgres: 0.5, postgresOther: 0, redis: 0.1 },
      machineBusyCores: 1.9,
      loadavg1: [1, 1],
    };
  };
  const markdown = renderMarkdown(
    results({
      flows: [flow(1, 3), flow(16, 1.5)],
      peer: [
        { ...operation('sign-in', 'peer', 6), concurrency: 1 },
        { ...operation('sign-in', 'peer', 4.5), concurrency: 16 },
      ],
      census: [
        { operation: 'sign-in', server: 'roost', operations: 20, postgresRoundTrips: 2, redisCommands: 4 },
        { operation: 'sign-in', server: 'peer', operations: 20, postgresRoundTrips: 1, redisCommands: 5 },
      ],
      overload: [overloaded('refresh', 4, { p99: 30, shed: { '503': 900 }, shedWithRetryAfter: 900, failed: { timeout: 3 } })],
    }),
  );
  t.match(markdown, /\| \*\*server CPU per sign-in\*\* ms \| 3\.000 \/ 6\.000 \| 1\.500 \/ 4\.500 \|/);
  t.match(markdown, /\| \*\*roost ÷ peer\*\* \| 0\.50× \| 0\.33× \|/);
  t.match(markdown, /Postgres round trips 2\.0 \(roost\) \/ 1\.0 \(peer\), Redis commands 4\.0 \/ 5\.0/);
  t.match(markdown, /\| \*\*p99 admitted ÷ unloaded\*\* \| 7\.5× \|/);
  t.match(markdown, /\| shed \(429, 503\) \| 503: 900 \|/);
  t.match(markdown, /\| shed answers with Retry-After \| 900 of 900 \|/);
  t.match(markdown, /\| failed \(no answer within 5 s, other answers\) \| timeout: 3 \|/);
});

t.test('the report sets each operation beside its floor, and the seeded run beside the empty one', async (t) => {
  const plain = renderMarkdown(results());
  t.match(plain, /\| refresh \| 100 \| 2\.00 \/ 3\.00 \| 2\.00 \/ 3\.00 \| 0\.300 \| 0\.200 \| 1\.5× \| 0\.350 \/ 0\.000 \|/);
  t.match(plain, /\| code sign-in \+ redemption \| 100 \| [^|]+\| – \| 1\.200 \| – \| – \|/, 'no floor, no ratio');
  t.match(plain, /\| 1\.0 \/ – \| 1\.0 \/ – \|/, 'round trips and commands from the census');
  t.notMatch(plain, /empty database →/);
  const seeded = renderMarkdown(
    results({
      seeded: {
        seed: { users: 1_000_000, sessions: 5_000_000, spentTokens: 5_000_000, seconds: 300, databaseMb: 4000 },
        operations: [operation('refresh', 'roost', 0.33, 0.4)],
        http: [http('roost-me', 4800, 0.21)],
      },
    }),
  );
  t.match(seeded, /empty database → 1,000,000 users, 5,000,000 sessions/);
  t.match(seeded, /\| refresh \| 100 → 100 \| 0\.300 → 0\.330 \| 1\.10× \| 0\.350 → 0\.400 \| 1\.14× \|/);
  t.match(seeded, /\| GET \/me \| 5000 → 4800 \| 0\.200 → 0\.210 \| 1\.05× \|/);
});
