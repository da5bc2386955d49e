// The series behind the benchmark's chart: each operation's throughput and
// p99 at several concurrencies, for roost beside its floor and the reference
// servers (bare node:http and Fastify for the JWKS, the passport peer for the
// sign-in). Points a timed phase of the run already measured are taken from
// it; the others are measured by the sweep, shorter. Pure, but for the plan's
// consumer in run.ts.
import type { ChartPanel, ChartSeries } from './chart.js';
import type { BenchResults, OperationName } from './results.js';

export type SeriesOperation = OperationName | 'GET /me' | 'JWKS';
export type SeriesServer = 'roost' | 'floor' | 'peer' | 'node-http' | 'fastify';

export interface SeriesPoint {
  readonly operation: SeriesOperation;
  readonly server: SeriesServer;
  /** Clients (flows) or connections (HTTP) at once. */
  readonly concurrency: number;
  readonly perSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly seconds: number;
  readonly failures: number;
  /** Where the point comes from: a phase of the run, or the sweep. */
  readonly source: 'matrix' | 'peer' | 'operations' | 'sweep';
}

export const SERIES_OPERATIONS: readonly SeriesOperation[] = ['sign-in', 'code sign-in + redemption', 'refresh', 'GET /me', 'JWKS'];

/** Which servers each operation is drawn for: roost first, then what it is set beside. */
export const SERIES_SERVERS: Readonly<Record<SeriesOperation, readonly SeriesServer[]>> = {
  'sign-in': ['roost', 'floor', 'peer'],
  'code sign-in + redemption': ['roost', 'floor'],
  refresh: ['roost', 'floor'],
  'GET /me': ['roost', 'floor'],
  JWKS: ['roost', 'node-http', 'fastify'],
};

export const SERIES_NAMES: Readonly<Record<SeriesServer, string>> = {
  roost: 'roost',
  floor: 'floor',
  peer: 'passport-twitter peer',
  'node-http': 'node:http, same bytes',
  fastify: 'Fastify, same bytes',
};

/** The points the run's timed phases give at the sweep's concurrencies, provider answering at once. */
export function pointsFromPhases(results: Pick<BenchResults, 'flows' | 'operations' | 'peer'>, concurrencies: readonly number[]): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const phase of results.flows) {
    if (phase.providerLatencyMs !== 0 || !concurrencies.includes(phase.concurrency)) continue;
    const { browser } = phase.latencyMs;
    points.push({ operation: 'sign-in', server: 'roost', concurrency: phase.concurrency, perSec: phase.flowsPerSec, p50: browser.p50, p99: browser.p99, seconds: phase.seconds, failures: phase.errorCount, source: 'matrix' });
  }
  for (const [phases, source] of [
    [results.peer, 'peer'],
    [results.operations, 'operations'],
  ] as const) {
    for (const phase of phases) {
      if (!concurrencies.includes(phase.concurrency)) continue;
      // The matrix's sign-in is already in, as roost's sign-in of the operations table.
      if (points.some((p) => p.operation === phase.operation && p.server === phase.server && p.concurrency === phase.concurrency)) continue;
      points.push({
        operation: phase.operation,
        server: phase.server,
        concurrency: phase.concurrency,
        perSec: phase.perSec,
        p50: phase.latencyMs.p50,
        p99: phase.latencyMs.p99,
        seconds: phase.seconds,
        failures: phase.errorCount,
        source,
      });
    }
  }
  return points;
}

/** What the sweep still has to measure: every operation, server and concurrency no phase gave. */
export function pointsToMeasure(have: readonly SeriesPoint[], concurrencies: readonly number[]): Array<{ operation: SeriesOperation; server: SeriesServer; concurrency: number }> {
  const wanted: Array<{ operation: SeriesOperation; server: SeriesServer; concurrency: number }> = [];
  for (const operation of SERIES_OPERATIONS) {
    for (const server of SERIES_SERVERS[operation]) {
      for (const concurrency of concurrencies) {
        if (!have.some((p) => p.operation === operation && p.server === server && p.concurrency === concurrency)) wanted.push({ operation, server, concurrency });
      }
    }
  }
  return wanted;
}

/** Two panels per operation, throughput and p99 against concurrency, one series per server. */
export function chartPanels(points: readonly SeriesPoint[]): ChartPanel[] {
  const panels: ChartPanel[] = [];
  for (const operation of SERIES_OPERATIONS) {
    const ofOperation = points.filter((p) => p.operation === operation);
    if (ofOperation.length === 0) continue;
    const series = (pick: (p: SeriesPoint) => number): ChartSeries[] =>
      SERIES_SERVERS[operation]
        .map((server) => ({
          name: SERIES_NAMES[server],
          dashed: server !== 'roost',
          points: ofOperation
            .filter((p) => p.server === server && p.perSec > 0)
            .sort((a, b) => a.concurrency - b.concurrency)
            .map((p) => ({ x: p.concurrency, y: pick(p) })),
        }))
        .filter((s) => s.points.length > 0);
    const title = operation === 'JWKS' ? 'GET /.well-known/jwks.json' : operation;
    const xLabel = operation === 'GET /me' || operation === 'JWKS' ? 'connections' : 'clients at once';
    panels.push(
      { title: `${title}: throughput`, xLabel, yLabel: operation.includes('sign-in') ? 'sign-ins/s' : 'requests/s', series: series((p) => p.perSec), logX: true },
      { title: `${title}: p99 latency`, xLabel, yLabel: 'ms', series: series((p) => p.p99), logX: true },
    );
  }
  return panels;
}
