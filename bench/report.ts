// The short Markdown report written to bench/results/ and between the bench
// markers of docs/performance.md: the operations of a session's life beside
// their floor, the sign-in beside the passport peer, the sign-in matrix, the
// HTTP servers, the chart's series, overload, the soak, the seeded
// comparison and the targets. Pure.
import type { LoadRun } from './open-loop.js';
import { FLOOR_IS, OPERATIONS, operationRows, type BenchResults, type FlowPhase, type HttpPhase, type Measured, type OperationPhase } from './results.js';
import { SERIES_NAMES, SERIES_OPERATIONS, SERIES_SERVERS } from './series.js';
import type { CpuPerOp } from './snapshots.js';
import type { Summary } from './stats.js';
import { round } from './stats.js';
import { checkTargets } from './targets.js';

export function renderMarkdown(results: BenchResults): string {
  const lines: string[] = [];
  const { machine, settings } = results;
  const load = (values: readonly number[]) => values.map((n) => n.toFixed(2)).join(' ');
  lines.push(
    `Measured ${results.date.slice(0, 16).replace('T', ' ')} UTC with \`${results.command}\`: ${machine.cpus} × ${machine.cpuModel}, ` +
      `Node ${machine.node}; ${machine.busyCoresBefore} cores busy with other work just before, load average ${load(machine.loadavgBefore)} before, ${load(machine.loadavgAfter)} after ` +
      `(roost, its floor, Postgres, Redis, the provider and the driver all share these cores); with nothing of the run going, the postgres processes used ` +
      `${machine.idleNoise.postgresMsPerSec} ms of CPU a second and redis-server ${machine.idleNoise.redisMsPerSec ?? '–'}. Run took ${results.runSeconds} s.`,
    '',
  );

  lines.push(...operationsTable(results), '');
  lines.push(...peerTable(results));
  for (const latency of settings.latenciesMs) lines.push(...flowTable(results, latency));
  lines.push(...httpTable(results), '');
  lines.push(...seriesTable(results));
  lines.push(...overloadTable(results));
  lines.push(...soakTable(results));
  if (results.seeded) lines.push(...seededTable(results), '');

  const { startup, memory } = results;
  const phases = memory.afterPhases ?? [];
  lines.push(
    '| roost process | |',
    '|---|---:|',
    `| start-up to ready, keys and schema present (median of ${startup.readyMs.length}) | ${startup.medianReadyMs} ms (${startup.medianReadyCpuMs} ms of CPU) |`,
    `| first start (creates the schema and the signing key) | ${startup.firstStartMs} ms |`,
    `| RSS idle / after the flows / peak of the whole run | ${memory.idle.rssMb} / ${memory.afterFlows.rssMb} / ${memory.peakRssMb} MB |`,
    ...(phases.length > 0 ? [`| peak RSS so far (VmHWM) after each phase, MB | ${phases.map((p) => `${p.phase} ${p.peakRssMb}`).join(' · ')} |`] : []),
    '',
    '| target | goal | measured | |',
    '|---|---|---:|---|',
    ...checkTargets(results).map((t) => `| ${t.what} | ${t.target} | ${t.measured} | ${t.met === undefined ? '–' : t.met ? 'met' : '**missed**'} |`),
    '',
  );
  return `${lines.join('\n')}\n`;
}

function operationsTable(results: BenchResults): string[] {
  const { settings } = results;
  const pair = (a: string, b: string) => `${a} / ${b}`;
  const cpu = (m: Measured | undefined, pick: (c: CpuPerOp) => number | null) => fmt(m === undefined ? NaN : (pick(m.cpu) ?? NaN), 3);
  const latency = (m: Measured | undefined) => (m === undefined ? '–' : `${fmt(m.p50)} / ${fmt(m.p99)}`);
  const count = (n: number | undefined) => (n === undefined ? '–' : fmt(n, 1));
  const rows = operationRows(results).map((row) => {
    const { roost, floor } = row;
    const failures = (roost?.failures ?? 0) > 0 ? ` (${roost?.failures} failed)` : '';
    return (
      `| ${row.name}${failures} | ${roost?.perSec ?? '–'} | ${latency(roost)} | ${latency(floor)} | ${cpu(roost, (c) => c.server)} | ${cpu(floor, (c) => c.server)} | ` +
      `${roost && floor && floor.cpu.server > 0 ? `${fmt(roost.cpu.server / floor.cpu.server, 1)}×` : '–'} | ` +
      `${pair(cpu(roost, (c) => c.postgres), cpu(floor, (c) => c.postgres))} | ${pair(cpu(roost, (c) => c.postgresOther), cpu(floor, (c) => c.postgresOther))} | ` +
      `${pair(cpu(roost, (c) => c.redis), cpu(floor, (c) => c.redis))} | ` +
      `${pair(count(row.census.roost?.postgresRoundTrips), count(row.census.floor?.postgresRoundTrips))} | ${pair(count(row.census.roost?.redisCommands), count(row.census.floor?.redisCommands))} |`
    );
  });
  const floorRows = [...OPERATIONS, '/me', 'JWKS'] as const;
  return [
    `| a session's life: sign-ins and refreshes at concurrency ${settings.operationConcurrency} for ${settings.flowSeconds} s each (0 ms provider); /me and JWKS as below | roost /s | roost p50 / p99 ms | floor p50 / p99 ms | **roost CPU ms/op** | floor CPU ms/op | **roost ÷ floor** | Postgres backends CPU ms/op roost / floor | other postgres processes ms/op roost / floor | Redis CPU ms/op roost / floor | Postgres round trips roost / floor | Redis commands roost / floor |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `The floor (bench/floor.ts) does what each operation cannot do without, on the same libraries and servers, and nothing else: ${floorRows.map((name) => `**${name}**: ${FLOOR_IS[name]}`).join('; ')}. ` +
      'Round trips and commands are counted on the wire by a separate instance of each (bench/wire-census.ts).',
  ];
}

function peerTable(results: BenchResults): string[] {
  const peer = results.peer ?? [];
  if (peer.length === 0) return [];
  const roostAt = (c: number) => results.flows.find((phase) => phase.providerLatencyMs === 0 && phase.concurrency === c);
  const columns = peer.map((phase) => ({ peer: phase, roost: roostAt(phase.concurrency) }));
  const row = (label: string, cell: (roost: FlowPhase | undefined, peer: OperationPhase) => string) => `| ${label} | ${columns.map((col) => cell(col.roost, col.peer)).join(' | ')} |`;
  const cpu = (value: number | null | undefined) => fmt(value ?? NaN, 3);
  const census = (server: 'roost' | 'peer') => results.census.find((entry) => entry.operation === 'sign-in' && entry.server === server);
  const [roostCensus, peerCensus] = [census('roost'), census('peer')];
  return [
    `| sign-in beside a hand-written passport-twitter peer (bench/peer.ts), provider 0 ms, ${results.settings.flowSeconds} s each: roost / peer | ${peer.map((p) => `c=${p.concurrency}`).join(' | ')} |`,
    `|---|${peer.map(() => '---:').join('|')}|`,
    row('complete sign-ins/s', (r, p) => `${r?.flowsPerSec ?? '–'} / ${p.perSec}`),
    row('p50 / p99 ms', (r, p) => `${r ? `${fmt(r.latencyMs.browser.p50)} / ${fmt(r.latencyMs.browser.p99)}` : '–'} · ${fmt(p.latencyMs.p50)} / ${fmt(p.latencyMs.p99)}`),
    row('**server CPU per sign-in** ms', (r, p) => `${cpu(r?.cpuMsPerFlow.server)} / ${cpu(p.cpuMsPerOp.server)}`),
    row('**roost ÷ peer**', (r, p) => (r && p.cpuMsPerOp.server > 0 && p.completed > 0 ? `${fmt(r.cpuMsPerFlow.server / p.cpuMsPerOp.server, 2)}×` : '–')),
    row('Postgres backends CPU per sign-in ms', (r, p) => `${cpu(r?.cpuMsPerFlow.postgres)} / ${cpu(p.cpuMsPerOp.postgres)}`),
    row('Redis CPU per sign-in ms', (r, p) => `${cpu(r?.cpuMsPerFlow.redis)} / ${cpu(p.cpuMsPerOp.redis)}`),
    row('failed sign-ins', (r, p) => `${r?.errorCount ?? '–'} / ${p.errorCount}`),
    '',
    'The peer is Express with express-session (its sessions in Redis through connect-redis), passport and passport-twitter against the same stand-in, ' +
      'the user upserted with pg into a table of its own, and a JWT signed with jsonwebtoken (ES256) in the fragment: the way a tutorial writes it, every library with its defaults beyond what the flow needs. ' +
      (roostCensus && peerCensus
        ? `Per sign-in on the wire: Postgres round trips ${fmt(roostCensus.postgresRoundTrips, 1)} (roost) / ${fmt(peerCensus.postgresRoundTrips, 1)} (peer), Redis commands ${fmt(roostCensus.redisCommands, 1)} / ${fmt(peerCensus.redisCommands, 1)}.`
        : ''),
    '',
  ];
}

function seriesTable(results: BenchResults): string[] {
  const points = results.series ?? [];
  const concurrencies = results.settings.seriesConcurrencies ?? [];
  if (points.length === 0 || concurrencies.length === 0) return [];
  const rows: string[] = [];
  for (const operation of SERIES_OPERATIONS) {
    for (const server of SERIES_SERVERS[operation]) {
      const cells = concurrencies.map((c) => {
        const point = points.find((p) => p.operation === operation && p.server === server && p.concurrency === c);
        if (point === undefined) return '–';
        const failed = point.failures > 0 ? ` (${point.failures} failed)` : '';
        return `${point.perSec} · ${fmt(point.p99)}${point.source === 'sweep' ? '' : '*'}${failed}`;
      });
      if (cells.some((cell) => cell !== '–')) rows.push(`| ${operation}, ${SERIES_NAMES[server]} | ${cells.join(' | ')} |`);
    }
  }
  return [
    `| the chart's series: operations/s · p99 ms, by clients (sign-ins, refreshes) or connections (/me, JWKS) at once | ${concurrencies.map((c) => `c=${c}`).join(' | ')} |`,
    `|---|${concurrencies.map(() => '---:').join('|')}|`,
    ...rows,
    '',
    `\* from the timed phases above; the other points are measured for the chart alone, ${results.settings.seriesSeconds} s each (HTTP with autocannon, whose latencies are whole milliseconds).`,
    '',
  ];
}

function overloadTable(results: BenchResults): string[] {
  const operations = results.overload ?? [];
  if (operations.length === 0) return [];
  const first = operations[0] as (typeof operations)[number];
  const counts = (record: Record<string, number>) => Object.entries(record).map(([kind, n]) => `${kind}: ${n}`).join('; ') || '0';
  const total = (record: Record<string, number>) => Object.values(record).reduce((sum, n) => sum + n, 0);
  const latency = (run: LoadRun) => `${fmt(run.latencyMs.p50)} / ${fmt(run.latencyMs.p99)}`;
  const row = (label: string, cell: (phase: (typeof operations)[number]) => string) => `| ${label} | ${operations.map(cell).join(' | ')} |`;
  return [
    `| overload: arrivals at a fixed rate (open loop) for ${first.runSeconds} s, latency from each request's scheduled start | ${operations.map((p) => p.operation).join(' | ')} |`,
    `|---|${operations.map(() => '---:').join('|')}|`,
    row(`saturation: admitted/s with ${first.saturationConcurrency} clients at once (closed loop)`, (p) => String(p.saturation.admittedPerSec)),
    row('unloaded (a tenth of that): rate /s, p50 / p99 ms', (p) => `${p.unloaded.targetPerSec}: ${latency(p.unloaded)}`),
    row(`overloaded (${first.factor}×): rate asked /s, requests started`, (p) => `${Math.round(p.overloaded.targetPerSec)}, ${p.overloaded.sent}`),
    row('admitted (2xx) /s of the arrivals, p50 / p99 ms', (p) => `${p.overloaded.admittedPerSec}: ${latency(p.overloaded)}`),
    row('**p99 admitted ÷ unloaded**', (p) => (p.overloaded.admitted > 0 && p.unloaded.latencyMs.p99 > 0 ? `${fmt(p.overloaded.latencyMs.p99 / p.unloaded.latencyMs.p99, 1)}×` : '–')),
    row('shed (429, 503)', (p) => counts(p.overloaded.shed)),
    row('shed answers with Retry-After', (p) => (total(p.overloaded.shed) === 0 ? '–' : `${p.overloaded.shedWithRetryAfter} of ${total(p.overloaded.shed)}`)),
    row(`failed (no answer within ${first.timeoutMs / 1000} s, other answers)`, (p) => counts(p.overloaded.failed)),
    row("the driver's own lag behind the schedule, p99 ms", (p) => fmt(p.overloaded.driverLagMs.p99)),
    '',
  ];
}

function soakTable(results: BenchResults): string[] {
  const soak = results.soak;
  if (soak === undefined) return [];
  const operations = Object.keys(soak.runs) as Array<keyof typeof soak.runs>;
  const first = soak.samples.find((sample) => sample.atS >= soak.warmupSeconds);
  const last = soak.samples.at(-1);
  const failed = (run: LoadRun) => Object.values(run.failed).reduce((sum, n) => sum + n, 0) + Object.values(run.shed).reduce((sum, n) => sum + n, 0);
  return [
    `| soak: ${soak.seconds} s at ${Math.round(soak.share * 100)}% of saturation, sampled every ${soak.intervalSeconds} s, warm-up ${soak.warmupSeconds} s | ${operations.join(' | ')} |`,
    `|---|${operations.map(() => '---:').join('|')}|`,
    `| rate /s (of a saturation of) | ${operations.map((op) => `${soak.ratesPerSec[op]} (${soak.saturationPerSec[op]})`).join(' | ')} |`,
    `| completed, p50 / p99 ms | ${operations.map((op) => `${soak.runs[op].admitted}: ${fmt(soak.runs[op].latencyMs.p50)} / ${fmt(soak.runs[op].latencyMs.p99)}`).join(' | ')} |`,
    `| refused or failed | ${operations.map((op) => String(failed(soak.runs[op]))).join(' | ')} |`,
    '',
    `roost after the warm-up → at the end: RSS ${first?.rssMb ?? '–'} → ${last?.rssMb ?? '–'} MB, V8 heap in use ${first?.heapUsedMb ?? '–'} → ${last?.heapUsedMb ?? '–'} MB; ` +
      `growth (the last fifth of the time against the first: RSS by median, heap by its least) **RSS ${fmt(soak.rssGrowthPct, 1)}%**, **heap ${fmt(soak.heapGrowthPct, 1)}%**; ` +
      `garbage collection took **${fmt(soak.gcSharePct, 1)}%** of roost's CPU time.`,
    '',
  ];
}

function flowTable(results: BenchResults, latency: number): string[] {
  const phases = results.flows.filter((phase) => phase.providerLatencyMs === latency);
  if (phases.length === 0) return [];
  const row = (label: string, cell: (phase: FlowPhase) => string) => `| ${label} | ${phases.map(cell).join(' | ')} |`;
  const pct = (s: Summary) => `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)}`;
  return [
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
    row('**roost CPU per flow** ms (of which kernel)', (p) => `${fmt(p.cpuMsPerFlow.server, 3)} (${fmt(p.cpuMsPerFlow.serverKernel, 3)})`),
    row('provider / driver / Postgres / Redis CPU per flow ms', (p) => [p.cpuMsPerFlow.provider, p.cpuMsPerFlow.driver, p.cpuMsPerFlow.postgres, p.cpuMsPerFlow.redis ?? NaN].map((n) => fmt(n, 3)).join(' / ')),
    row('machine busy (cores)', (p) => fmt(p.machineBusyCores)),
    '',
  ];
}

function httpTable(results: BenchResults): string[] {
  const node = results.http.find((phase) => phase.target === 'node-http');
  const fastify = results.http.find((phase) => phase.target === 'fastify');
  const { settings } = results;
  const lines = [
    `| HTTP, autocannon ${settings.connections} connections, median of ${settings.httpRounds} rounds of ${round(settings.httpSeconds / settings.httpRounds, 1)} s | req/s | p50 / p99 ms | vs node:http | vs Fastify | server CPU per request ms | Postgres CPU per request ms |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const phase of results.http) {
    const vs = (ceiling: HttpPhase | undefined) => (ceiling ? `${Math.round((100 * phase.reqPerSec) / ceiling.reqPerSec)}%` : '');
    const failures = phase.non2xx + phase.errors > 0 ? ` (${phase.non2xx} non-2xx, ${phase.errors} errors)` : '';
    lines.push(
      `| ${phase.name}${failures} | ${phase.reqPerSec} | ${phase.latencyMs.p50} / ${phase.latencyMs.p99} | ${vs(node)} | ${vs(fastify)} | ${fmt(phase.cpuMsPerRequest.server, 4)} | ${fmt(phase.cpuMsPerRequest.postgres, 4)} |`,
    );
  }
  return lines;
}

function seededTable(results: BenchResults): string[] {
  const seeded = results.seeded;
  if (!seeded) return [];
  const { seed } = seeded;
  type Figures = { cpu: CpuPerOp; p50: number; p99: number; perSec: number };
  const ofPhase = (phase: OperationPhase | undefined): Figures | undefined => phase && { cpu: phase.cpuMsPerOp, p50: phase.latencyMs.p50, p99: phase.latencyMs.p99, perSec: phase.perSec };
  const ofHttp = (phase: HttpPhase | undefined): Figures | undefined => phase && { cpu: phase.cpuMsPerRequest, p50: phase.latencyMs.p50, p99: phase.latencyMs.p99, perSec: phase.reqPerSec };
  const pairs: Array<[string, Figures | undefined, Figures | undefined]> = [
    ...OPERATIONS.map((operation): [string, Figures | undefined, Figures | undefined] => {
      const find = (phases: readonly OperationPhase[]) => phases.find((phase) => phase.operation === operation && phase.server === 'roost');
      return [operation, ofPhase(find(results.operations)), ofPhase(find(seeded.operations))];
    }),
    ...(['roost-me', 'roost-jwks'] as const).map((target): [string, Figures | undefined, Figures | undefined] => [
      target === 'roost-me' ? 'GET /me' : 'GET /.well-known/jwks.json',
      ofHttp(results.http.find((phase) => phase.target === target)),
      ofHttp(seeded.http.find((phase) => phase.target === target)),
    ]),
  ];
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || a <= 0 ? '–' : `${fmt(b / a, 2)}×`);
  return [
    `| roost, empty database → ${seed.users.toLocaleString('en')} users, ${seed.sessions.toLocaleString('en')} sessions, ${seed.spentTokens.toLocaleString('en')} spent tokens (${seed.databaseMb} MB, seeded in ${seed.seconds} s) | ops/s empty → seeded | roost CPU ms/op empty → seeded | ratio | Postgres CPU ms/op empty → seeded | ratio | p50 / p99 ms empty → seeded |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...pairs.map(
      ([name, empty, full]) =>
        `| ${name} | ${empty?.perSec ?? '–'} → ${full?.perSec ?? '–'} | ${fmt(empty?.cpu.server ?? NaN, 3)} → ${fmt(full?.cpu.server ?? NaN, 3)} | ${ratio(empty?.cpu.server, full?.cpu.server)} | ` +
        `${fmt(empty?.cpu.postgres ?? NaN, 3)} → ${fmt(full?.cpu.postgres ?? NaN, 3)} | ${ratio(empty?.cpu.postgres, full?.cpu.postgres)} | ` +
        `${fmt(empty?.p50 ?? NaN)} / ${fmt(empty?.p99 ?? NaN)} → ${fmt(full?.p50 ?? NaN)} / ${fmt(full?.p99 ?? NaN)} |`,
    ),
  ];
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
