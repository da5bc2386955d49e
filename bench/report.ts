// The results' shape, the targets they are held to, and the short Markdown
// table written to bench/results/ and docs/performance.md. Pure.
import type { HttpLoadResult } from './http-load.js';
import type { Memory } from './proc.js';
import type { Summary } from './stats.js';
import { round } from './stats.js';

export interface FlowPhase {
  readonly concurrency: number;
  readonly providerLatencyMs: number;
  readonly seconds: number;
  readonly completed: number;
  readonly flowsPerSec: number;
  readonly errorCount: number;
  readonly errors: Record<string, number>;
  readonly latencyMs: Record<
    'flow' | 'login' | 'authenticate' | 'callback' | 'verify' | 'provider' | 'roostOwn' | 'roostOwnLogin' | 'roostOwnCallback',
    Summary
  >;
  /** Each process's CPU time over the phase divided by completed sign-ins. */
  readonly cpuMsPerFlow: { roost: number; roostKernel: number; provider: number; driver: number; postgres: number; redis: number | null };
  /** Average busy cores of the whole machine over the phase (other work included). */
  readonly machineBusyCores: number;
  readonly loadavg1: readonly number[];
}

export interface HttpPhase extends HttpLoadResult {
  readonly name: string;
  /** req/s of each round; reqPerSec and the latencies are those of the median round. */
  readonly roundsReqPerSec: readonly number[];
  /** roost's RSS after each round, when the target is roost. */
  readonly roostRssAfterMb?: readonly number[];
  readonly serverCpuMsPerRequest: number;
  readonly loadavg1: number;
}

export interface BenchResults {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; busyCoresBefore: number; loadavgBefore: number[]; loadavgAfter: number[] };
  settings: { flowSeconds: number; warmupSeconds: number; latenciesMs: number[]; concurrencies: number[]; httpSeconds: number; httpRounds: number; connections: number; providerUsers: number };
  startup: { firstStartMs: number; readyMs: number[]; medianReadyMs: number; readyCpuMs: number[]; medianReadyCpuMs: number; loggedStartupMs: number[] };
  memory: { idle: Memory; afterFlows: Memory; end: Memory; peakRssMb: number };
  flows: FlowPhase[];
  http: HttpPhase[];
  leftoverFlowsInRedis: number;
  runSeconds: number;
}

export interface TargetCheck {
  readonly what: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

const HTTP_NODE = 0;
const HTTP_FASTIFY = 1;
const HTTP_JWKS = 2;
const HTTP_ME = 3;

export function checkTargets(results: BenchResults): TargetCheck[] {
  const at = (c: number) => results.flows.find((phase) => phase.concurrency === c && phase.providerLatencyMs === 0);
  const c16 = at(16);
  const c64 = at(64);
  const ratio = (a: number, b: number) => (results.http[a]?.reqPerSec ?? NaN) / (results.http[b]?.reqPerSec ?? NaN);
  const check = (what: string, target: string, value: number | undefined, unit: string, ok: (v: number) => boolean, digits = 2): TargetCheck => ({
    what,
    target,
    measured: value === undefined || !Number.isFinite(value) ? 'not measured' : `${round(value, digits)}${unit}`,
    met: value === undefined || !Number.isFinite(value) ? undefined : ok(value),
  });
  return [
    check('roost CPU per complete flow at concurrency 16 (0 ms provider)', '≤ 0.5 ms', c16?.cpuMsPerFlow.roost, ' ms', (v) => v <= 0.5, 3),
    check('complete flows/s at concurrency 64 (0 ms provider)', '≥ 1000', c64?.flowsPerSec, '', (v) => v >= 1000, 0),
    check("roost's own time per flow, p50 at concurrency 16", '≤ 3 ms', c16?.latencyMs.roostOwn.p50, ' ms', (v) => v <= 3),
    check("roost's own time per flow, p99 at concurrency 16", '≤ 10 ms', c16?.latencyMs.roostOwn.p99, ' ms', (v) => v <= 10),
    check('JWKS req/s vs Fastify serving the same bytes', '≥ 80%', 100 * ratio(HTTP_JWKS, HTTP_FASTIFY), '%', (v) => v >= 80, 0),
    check('/me req/s vs node:http', '≥ 15%', 100 * ratio(HTTP_ME, HTTP_NODE), '%', (v) => v >= 15, 0),
    check('peak RSS (production mode, under the load above)', '≤ 120 MB', results.memory.peakRssMb, ' MB', (v) => v <= 120, 0),
    check('start-up to ready, keys and schema present (median of 3)', '≤ 1.5 s', results.startup.medianReadyMs / 1000, ' s', (v) => v <= 1.5),
  ];
}

export function renderMarkdown(results: BenchResults): string {
  const lines: string[] = [];
  const { machine } = results;
  const load = (values: readonly number[]) => values.map((n) => n.toFixed(2)).join(' ');
  lines.push(
    `Measured ${results.date.slice(0, 16).replace('T', ' ')} UTC with \`${results.command}\`: ${machine.cpus} × ${machine.cpuModel}, ` +
      `Node ${machine.node}; ${machine.busyCoresBefore} cores busy with other work just before, load average ${load(machine.loadavgBefore)} before, ${load(machine.loadavgAfter)} after ` +
      `(roost, Postgres, Redis, the provider and the driver all share these cores). Run took ${results.runSeconds} s.`,
    '',
  );

  for (const latency of results.settings.latenciesMs) {
    const phases = results.flows.filter((phase) => phase.providerLatencyMs === latency);
    if (phases.length === 0) continue;
    const row = (label: string, cell: (phase: FlowPhase) => string) => `| ${label} | ${phases.map(cell).join(' | ')} |`;
    const pct = (s: Summary) => `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)}`;
    lines.push(
      `| sign-in flows, provider latency ${latency} ms, ${results.settings.flowSeconds} s each | ${phases.map((p) => `c=${p.concurrency}`).join(' | ')} |`,
      `|---|${phases.map(() => '---:').join('|')}|`,
      row('complete flows/s', (p) => String(p.flowsPerSec)),
      row('errors', (p) => (p.errorCount === 0 ? '0' : `${p.errorCount} (${Object.entries(p.errors).map(([kind, n]) => `${kind}: ${n}`).join('; ')})`)),
      row('whole flow p50 / p95 / p99 ms', (p) => pct(p.latencyMs.flow)),
      row('GET /login p50 / p95 / p99 ms', (p) => pct(p.latencyMs.login)),
      row('provider authenticate p50 / p95 / p99 ms', (p) => pct(p.latencyMs.authenticate)),
      row('GET /login/callback p50 / p95 / p99 ms', (p) => pct(p.latencyMs.callback)),
      row('token verify (jose) p50 / p95 / p99 ms', (p) => pct(p.latencyMs.verify)),
      row("**roost's own time** per flow p50 / p95 / p99 ms", (p) => pct(p.latencyMs.roostOwn)),
      row('**roost CPU per flow** ms (of which kernel)', (p) => `${fmt(p.cpuMsPerFlow.roost, 3)} (${fmt(p.cpuMsPerFlow.roostKernel, 3)})`),
      row('provider / driver / Postgres CPU per flow ms', (p) => `${fmt(p.cpuMsPerFlow.provider, 3)} / ${fmt(p.cpuMsPerFlow.driver, 3)} / ${fmt(p.cpuMsPerFlow.postgres, 3)}`),
      row('machine busy (cores)', (p) => fmt(p.machineBusyCores)),
      '',
    );
  }

  const node = results.http[HTTP_NODE];
  const fastify = results.http[HTTP_FASTIFY];
  lines.push(
    `| HTTP, autocannon ${results.settings.connections} connections, median of ${results.settings.httpRounds} rounds of ${round(results.settings.httpSeconds / results.settings.httpRounds, 1)} s | req/s | p50 / p99 ms | vs node:http | vs Fastify | server CPU per request ms |`,
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const phase of results.http) {
    const vs = (ceiling: HttpPhase | undefined) => (ceiling ? `${Math.round((100 * phase.reqPerSec) / ceiling.reqPerSec)}%` : '');
    const failures = phase.non2xx + phase.errors > 0 ? ` (${phase.non2xx} non-2xx, ${phase.errors} errors)` : '';
    lines.push(
      `| ${phase.name}${failures} | ${phase.reqPerSec} | ${phase.latencyMs.p50} / ${phase.latencyMs.p99} | ${vs(node)} | ${vs(fastify)} | ${fmt(phase.serverCpuMsPerRequest, 4)} |`,
    );
  }
  lines.push('');

  const { startup, memory } = results;
  lines.push(
    '| roost process | |',
    '|---|---:|',
    `| start-up to ready, keys and schema present (median of ${startup.readyMs.length}) | ${startup.medianReadyMs} ms (${startup.medianReadyCpuMs} ms of CPU) |`,
    `| first start (creates the schema and the signing key) | ${startup.firstStartMs} ms |`,
    `| RSS idle / after the flows / peak | ${memory.idle.rssMb} / ${memory.afterFlows.rssMb} / ${memory.peakRssMb} MB |`,
    '',
    '| target | goal | measured | |',
    '|---|---|---:|---|',
    ...checkTargets(results).map((t) => `| ${t.what} | ${t.target} | ${t.measured} | ${t.met === undefined ? '–' : t.met ? 'met' : '**missed**'} |`),
    '',
  );
  return `${lines.join('\n')}\n`;
}

export const BENCH_START = '<!-- bench:start -->';
export const BENCH_END = '<!-- bench:end -->';

/** Replaces what lies between a page's bench markers (docs/performance.md) with `markdown`. */
export function updateBenchSection(page: string, markdown: string): string {
  const start = page.indexOf(BENCH_START);
  const end = page.indexOf(BENCH_END);
  if (start === -1 || end < start) throw new Error(`docs/performance.md has no ${BENCH_START} … ${BENCH_END} section`);
  return `${page.slice(0, start + BENCH_START.length)}\n${markdown}${page.slice(end)}`;
}

function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}
