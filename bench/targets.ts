// The goals a run is held to, each a figure of the same run: a ratio to
// the floor, to the passport peer or to a bare server measured beside roost,
// roost against itself unloaded and overloaded or early and late in a soak,
// or an absolute budget. Pure.
import { operationRows, type BenchResults } from './results.js';
import { round } from './stats.js';

export interface TargetCheck {
  readonly what: string;
  readonly target: string;
  readonly measured: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
}

/** How far roost may be from the floor, in CPU per operation. */
export const FLOOR_FACTOR = 2;
/** How much of the passport peer's CPU per sign-in roost may spend. */
export const PEER_SHARE = 1 / 3;
/** How far the p99 of what roost admits under overload may be from its unloaded p99. */
export const OVERLOAD_TAIL_FACTOR = 10;
/** How much roost's RSS and heap may grow over a soak, after its warm-up, in per cent. */
export const SOAK_GROWTH_PCT = 5;

export function checkTargets(results: BenchResults): TargetCheck[] {
  const at = (c: number) => results.flows.find((phase) => phase.concurrency === c && phase.providerLatencyMs === 0);
  const c16 = at(16);
  const c64 = at(64);
  const http = (target: string) => results.http.find((phase) => phase.target === target);
  const refresh = results.operations.find((phase) => phase.operation === 'refresh' && phase.server === 'roost');
  const nodeHttpCpu = http('node-http')?.cpuMsPerRequest.server;
  const check = (what: string, target: string, value: number | undefined, unit: string, ok: (v: number) => boolean, digits = 2): TargetCheck => {
    const measured = value !== undefined && Number.isFinite(value);
    return { what, target, measured: measured ? `${round(value, digits)}${unit}` : 'not measured', met: measured ? ok(value) : undefined };
  };
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b <= 0 ? undefined : a / b);
  const floors = operationRows(results).map((row) =>
    check(`${row.name}: roost's CPU per operation vs its floor`, `≤ ${FLOOR_FACTOR}×`, ratio(row.roost?.cpu.server, row.floor?.cpu.server), '×', (v) => v <= FLOOR_FACTOR, 1),
  );
  const c = results.settings.operationConcurrency;
  const roostSignIn = results.operations.find((phase) => phase.operation === 'sign-in' && phase.server === 'roost');
  const peerSignIn = (results.peer ?? []).find((phase) => phase.concurrency === c);
  return [
    check(
      `sign-in: roost CPU vs the passport-twitter peer (bench/peer.ts), concurrency ${c}, 0 ms provider`,
      '≤ 1/3 (0.33×)',
      peerSignIn && peerSignIn.completed > 0 && roostSignIn?.concurrency === c ? ratio(roostSignIn.cpuMsPerOp.server, peerSignIn.cpuMsPerOp.server) : undefined,
      '×',
      (v) => v <= PEER_SHARE,
    ),
    check('refresh: roost CPU vs one request to bare node:http', '≤ 15×', ratio(refresh?.cpuMsPerOp.server, nodeHttpCpu), '×', (v) => v <= 15, 1),
    check('refresh: Postgres CPU vs roost CPU', '≤ 1×', ratio(refresh?.cpuMsPerOp.postgres, refresh?.cpuMsPerOp.server), '×', (v) => v <= 1),
    check('/me req/s vs node:http', '≥ 15%', 100 * (ratio(http('roost-me')?.reqPerSec, http('node-http')?.reqPerSec) ?? NaN), '%', (v) => v >= 15, 0),
    check('JWKS req/s vs Fastify serving the same bytes', '≥ 80%', 100 * (ratio(http('roost-jwks')?.reqPerSec, http('fastify')?.reqPerSec) ?? NaN), '%', (v) => v >= 80, 0),
    ...floors,
    check('roost CPU per complete sign-in at concurrency 16 (0 ms provider)', '≤ 0.5 ms', c16?.cpuMsPerFlow.server, ' ms', (v) => v <= 0.5, 3),
    check('complete sign-ins/s at concurrency 64 (0 ms provider)', '≥ 1000', c64?.flowsPerSec, '', (v) => v >= 1000, 0),
    check("roost's own time per sign-in, p50 at concurrency 16", '≤ 3 ms', c16?.latencyMs.roostOwn.p50, ' ms', (v) => v <= 3),
    check("roost's own time per sign-in, p99 at concurrency 16", '≤ 10 ms', c16?.latencyMs.roostOwn.p99, ' ms', (v) => v <= 10),
    ...overloadChecks(results),
    ...soakChecks(results),
    check('peak RSS through the whole run, every phase (production mode)', '≤ 120 MB', results.memory.peakRssMb, ' MB', (v) => v <= 120, 0),
    check('start-up to ready, keys and schema present (median of 3)', '≤ 1.5 s', results.startup.medianReadyMs / 1000, ' s', (v) => v <= 1.5),
  ];
}

function overloadChecks(results: BenchResults): TargetCheck[] {
  const factor = results.settings.overloadFactor ?? 4;
  const operations = results.overload ?? [];
  if (operations.length === 0) {
    return (['refresh', 'GET /me'] as const).map((name) => ({
      what: `${name}: p99 of what is admitted at ${factor}× the saturation rate vs unloaded`,
      target: `≤ ${OVERLOAD_TAIL_FACTOR}×`,
      measured: 'not measured',
      met: undefined,
    }));
  }
  return operations.flatMap((phase): TargetCheck[] => {
    const { overloaded, unloaded } = phase;
    const shed = Object.values(overloaded.shed).reduce((sum, n) => sum + n, 0);
    const tail = overloaded.admitted > 0 && unloaded.latencyMs.p99 > 0 ? overloaded.latencyMs.p99 / unloaded.latencyMs.p99 : undefined;
    return [
      {
        what: `${phase.operation}: p99 of what is admitted at ${phase.factor}× the saturation rate vs unloaded`,
        target: `≤ ${OVERLOAD_TAIL_FACTOR}×`,
        measured: tail === undefined ? (overloaded.admitted === 0 ? 'nothing admitted' : 'not measured') : `${round(tail, 1)}× (${overloaded.latencyMs.p99} vs ${unloaded.latencyMs.p99} ms)`,
        met: tail === undefined ? (overloaded.admitted === 0 && overloaded.sent > 0 ? false : undefined) : tail <= OVERLOAD_TAIL_FACTOR,
      },
      {
        what: `${phase.operation}: answers shed under overload (429, 503) that carry Retry-After`,
        target: 'all',
        measured: shed === 0 ? 'none shed' : `${overloaded.shedWithRetryAfter} of ${shed}`,
        met: shed === 0 ? undefined : overloaded.shedWithRetryAfter === shed,
      },
    ];
  });
}

function soakChecks(results: BenchResults): TargetCheck[] {
  const soak = results.soak;
  const growth = (what: string, value: number | undefined): TargetCheck => {
    const measured = value !== undefined && Number.isFinite(value);
    return {
      what: `${what} growth over a soak, after its warm-up`,
      target: `≤ ${SOAK_GROWTH_PCT}%`,
      measured: measured ? `${value}% (${soak?.seconds} s)` : soak ? 'not measured' : 'not measured (npm run bench -- --soak 600)',
      met: measured ? value <= SOAK_GROWTH_PCT : undefined,
    };
  };
  return [growth('roost RSS', soak?.rssGrowthPct), growth('roost V8 heap in use', soak?.heapGrowthPct)];
}
