// The benchmark holds roost to ratios measured in the same run: each
// operation's CPU against its floor, the refresh against one bare node:http
// request and against Postgres's share, /me and the JWKS against bare
// servers. A figure the run did not measure is said to be missing, never met.
import t from 'tap';
import { renderMarkdown } from '../../bench/report.js';
import type { BenchResults, HttpPhase, HttpTarget, OperationName, OperationPhase, Server } from '../../bench/results.js';
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
    settings: { flowSeconds: 10, warmupSeconds: 5, latenciesMs: [], concurrencies: [], operationConcurrency: 16, httpSeconds: 9, httpRounds: 3, connections: 50, providerUsers: 10, seedUsers: 0 },
    startup: { firstStartMs: 600, readyMs: [500], medianReadyMs: 500, readyCpuMs: [700], medianReadyCpuMs: 700, loggedStartupMs: [200] },
    memory: { idle: { rssMb: 100, peakRssMb: 100 }, afterFlows: { rssMb: 110, peakRssMb: 110 }, end: { rssMb: 110, peakRssMb: 115 }, peakRssMb: 115 },
    flows: [],
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
  t.match(checks.get('sign-in: roost CPU vs a hand-written passport-style peer'), { measured: /^not measured: the benchmark has no such peer/, met: undefined });
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
