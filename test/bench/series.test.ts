// The chart's series: points the timed phases measured are reused, the
// sweep measures exactly the rest, and the panels give every operation its
// throughput and p99 against concurrency with roost beside its references.
import t from 'tap';
import { renderChart } from '../../bench/chart.js';
import type { FlowPhase, OperationPhase } from '../../bench/results.js';
import { chartPanels, pointsFromPhases, pointsToMeasure, SERIES_NAMES, SERIES_OPERATIONS, SERIES_SERVERS, type SeriesPoint } from '../../bench/series.js';
import { summarize } from '../../bench/stats.js';

const cpu = { server: 1, serverKernel: 0, provider: 0, driver: 0, postgres: 0, postgresOther: 0, redis: 0 };

const flow = (concurrency: number, providerLatencyMs: number, p99: number): FlowPhase => {
  const browser = { ...summarize([1, 2]), p99 };
  return {
    concurrency,
    providerLatencyMs,
    seconds: 10,
    completed: 1000,
    flowsPerSec: 100 * concurrency,
    errorCount: 0,
    errors: {},
    latencyMs: { flow: summarize([99]), browser, login: browser, authenticate: browser, callback: browser, verify: browser, provider: browser, roostOwn: browser, roostOwnLogin: browser, roostOwnCallback: browser },
    cpuMsPerFlow: cpu,
    machineBusyCores: 1,
    loadavg1: [1, 1],
  };
};

const phase = (operation: OperationPhase['operation'], server: OperationPhase['server'], concurrency: number, perSec = 50): OperationPhase => ({
  operation,
  server,
  concurrency,
  seconds: 10,
  completed: perSec * 10,
  perSec,
  errorCount: 0,
  errors: {},
  latencyMs: { ...summarize([1]), p99: 7 },
  cpuMsPerOp: cpu,
  machineBusyCores: 1,
});

t.test('points come from the matrix at 0 ms, the peer and the operations, at the chart’s concurrencies only', async (t) => {
  const points = pointsFromPhases(
    {
      flows: [flow(1, 0, 20), flow(16, 0, 90), flow(64, 0, 250), flow(16, 50, 300)],
      peer: [phase('sign-in', 'peer', 1), phase('sign-in', 'peer', 16), phase('sign-in', 'peer', 64)],
      operations: [phase('sign-in', 'roost', 16), phase('sign-in', 'floor', 16), phase('refresh', 'roost', 16), phase('refresh', 'floor', 16), phase('refresh', 'roost', 32)],
    },
    [1, 16, 64],
  );
  const key = (p: SeriesPoint) => `${p.operation}/${p.server}/${p.concurrency}/${p.source}`;
  t.same(points.map(key).sort(), [
    'refresh/floor/16/operations',
    'refresh/roost/16/operations',
    'sign-in/floor/16/operations',
    'sign-in/peer/1/peer',
    'sign-in/peer/16/peer',
    'sign-in/peer/64/peer',
    'sign-in/roost/1/matrix',
    'sign-in/roost/16/matrix',
    'sign-in/roost/64/matrix',
  ]);
  t.equal(points.find((p) => p.server === 'roost' && p.concurrency === 16 && p.operation === 'sign-in')?.p99, 90, 'the 0 ms phase, not the 50 ms one');
  t.equal(points.filter((p) => p.operation === 'sign-in' && p.server === 'roost' && p.concurrency === 16).length, 1, 'the matrix’s sign-in is not counted twice');

  const missing = pointsToMeasure(points, [1, 16, 64]);
  const expected = SERIES_OPERATIONS.flatMap((op) => SERIES_SERVERS[op].length * 3).reduce((a, b) => a + b, 0) - points.length;
  t.equal(missing.length, expected, 'everything else, once');
  t.notOk(
    missing.some((m) => points.some((p) => p.operation === m.operation && p.server === m.server && p.concurrency === m.concurrency)),
    'nothing measured twice',
  );
  t.ok(missing.some((m) => m.operation === 'JWKS' && m.server === 'fastify' && m.concurrency === 1));
  t.notOk(missing.some((m) => m.operation === 'refresh' && m.server === 'peer'), 'the peer does sign-ins only');
  t.same(pointsToMeasure(points, []), [], 'no concurrencies, no sweep');
});

t.test('two panels per operation, roost first and solid, the others dashed, a failed point left out', async (t) => {
  const point = (operation: SeriesPoint['operation'], server: SeriesPoint['server'], concurrency: number, perSec: number, p99: number): SeriesPoint => ({
    operation,
    server,
    concurrency,
    perSec,
    p50: p99 / 2,
    p99,
    seconds: 3,
    failures: perSec === 0 ? 30 : 0,
    source: 'sweep',
  });
  const points = [
    point('JWKS', 'roost', 64, 12000, 11),
    point('JWKS', 'roost', 1, 5000, 1),
    point('JWKS', 'node-http', 1, 20000, 0),
    point('JWKS', 'node-http', 64, 37000, 3),
    point('sign-in', 'roost', 16, 300, 100),
    point('sign-in', 'peer', 16, 0, NaN),
  ];
  const panels = chartPanels(points);
  t.same(
    panels.map((p) => p.title),
    ['sign-in: throughput', 'sign-in: p99 latency', 'GET /.well-known/jwks.json: throughput', 'GET /.well-known/jwks.json: p99 latency'],
    'operations without points have no panel',
  );
  const jwks = panels[2];
  t.same(
    jwks?.series.map((s) => [s.name, s.dashed, s.points]),
    [
      [SERIES_NAMES.roost, false, [{ x: 1, y: 5000 }, { x: 64, y: 12000 }]],
      [SERIES_NAMES['node-http'], true, [{ x: 1, y: 20000 }, { x: 64, y: 37000 }]],
    ],
    'sorted by concurrency',
  );
  t.ok(jwks?.logX);
  t.equal(panels[3]?.yLabel, 'ms');
  t.same(panels[0]?.series.map((s) => s.name), [SERIES_NAMES.roost], 'the peer’s failed point is not drawn');

  const svg = renderChart(panels);
  t.match(svg, /^<svg /);
  t.match(svg, /node:http, same bytes/);
});
