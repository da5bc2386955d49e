// The goals a run is held to, each a figure of the same run: a ratio to
// the floor or to a bare server measured beside roost, or an absolute
// budget. Pure.
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
  return [
    {
      what: 'sign-in: roost CPU vs a hand-written passport-style peer',
      target: '≤ 1/3',
      measured: 'not measured: the benchmark has no such peer (the floor below is the least any server can do)',
      met: undefined,
    },
    check('refresh: roost CPU vs one request to bare node:http', '≤ 15×', ratio(refresh?.cpuMsPerOp.server, nodeHttpCpu), '×', (v) => v <= 15, 1),
    check('refresh: Postgres CPU vs roost CPU', '≤ 1×', ratio(refresh?.cpuMsPerOp.postgres, refresh?.cpuMsPerOp.server), '×', (v) => v <= 1),
    check('/me req/s vs node:http', '≥ 15%', 100 * (ratio(http('roost-me')?.reqPerSec, http('node-http')?.reqPerSec) ?? NaN), '%', (v) => v >= 15, 0),
    check('JWKS req/s vs Fastify serving the same bytes', '≥ 80%', 100 * (ratio(http('roost-jwks')?.reqPerSec, http('fastify')?.reqPerSec) ?? NaN), '%', (v) => v >= 80, 0),
    ...floors,
    check('roost CPU per complete sign-in at concurrency 16 (0 ms provider)', '≤ 0.5 ms', c16?.cpuMsPerFlow.server, ' ms', (v) => v <= 0.5, 3),
    check('complete sign-ins/s at concurrency 64 (0 ms provider)', '≥ 1000', c64?.flowsPerSec, '', (v) => v >= 1000, 0),
    check("roost's own time per sign-in, p50 at concurrency 16", '≤ 3 ms', c16?.latencyMs.roostOwn.p50, ' ms', (v) => v <= 3),
    check("roost's own time per sign-in, p99 at concurrency 16", '≤ 10 ms', c16?.latencyMs.roostOwn.p99, ' ms', (v) => v <= 10),
    check('peak RSS (production mode, under the load above)', '≤ 120 MB', results.memory.peakRssMb, ' MB', (v) => v <= 120, 0),
    check('start-up to ready, keys and schema present (median of 3)', '≤ 1.5 s', results.startup.medianReadyMs / 1000, ' s', (v) => v <= 1.5),
  ];
}
