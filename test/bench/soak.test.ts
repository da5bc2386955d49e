// The soak's arithmetic: each operation's rate from its share of the mix,
// the warm-up, the heap and the collector's time read from the Prometheus
// text roost serves (prom-client's default metrics, as roost registers
// them), and growth that a sawtooth heap or a noisy RSS does not fake and a
// real leak does not hide.
import t from 'tap';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { readRoostMetrics, SOAK_MIX, SOAK_OPERATIONS, soakGrowth, soakRates, soakWarmupSeconds, type SoakSample } from '../../bench/soak.js';

t.test('each operation runs at its share of the mix of a share of its saturation', async (t) => {
  t.equal(
    SOAK_OPERATIONS.reduce((sum, op) => sum + SOAK_MIX[op], 0),
    1,
    'the mix takes the whole of the share',
  );
  const rates = soakRates({ 'sign-in': 400, refresh: 1000, 'GET /me': 2000, JWKS: 12000 }, 0.5);
  t.same(rates, { 'sign-in': 50, refresh: 125, 'GET /me': 350, JWKS: 900 });
  t.same(soakRates({ 'sign-in': 0, refresh: 1000, 'GET /me': 2000, JWKS: 12000 }, 0.5)['sign-in'], 0, 'no saturation, no load');
});

t.test('the warm-up is a fifth of the soak, a minute at most', async (t) => {
  t.equal(soakWarmupSeconds(30), 6);
  t.equal(soakWarmupSeconds(120), 24);
  t.equal(soakWarmupSeconds(600), 60);
  t.equal(soakWarmupSeconds(3600), 60);
});

t.test('the heap and the collector’s time come from prom-client’s default metrics', async (t) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Some garbage and a collection, so the GC histogram has observations.
  for (let i = 0; i < 50; i++) new Array(100_000).fill(i);
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const metrics = readRoostMetrics(await registry.metrics());
  t.ok(metrics.heapUsedBytes > 1024 * 1024, `heap in use ${metrics.heapUsedBytes} bytes`);
  t.ok(Number.isFinite(metrics.gcSeconds) && metrics.gcSeconds >= 0, `GC ${metrics.gcSeconds} s`);

  const text = [
    '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
    '# TYPE nodejs_heap_size_used_bytes gauge',
    'nodejs_heap_size_used_bytes 31457280',
    'nodejs_gc_duration_seconds_sum{kind="minor"} 1.25',
    'nodejs_gc_duration_seconds_sum{kind="major"} 0.5',
    'nodejs_gc_duration_seconds_count{kind="major"} 7',
    'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 300',
    'roost_nodejs_heap_size_used_bytes 1',
  ].join('\n');
  t.same(readRoostMetrics(text), { heapUsedBytes: 31457280, gcSeconds: 1.75 }, 'sums over kinds; counts, buckets and other names left alone');
  const nothing = readRoostMetrics('# nothing here\n');
  t.ok(Number.isNaN(nothing.heapUsedBytes) && Number.isNaN(nothing.gcSeconds), 'absent metrics are not zero');
});

/** A sample every 5 s for `seconds`, roost's CPU rising 500 ms a second and the collector taking 5% of it. */
function samples(seconds: number, rss: (s: number) => number, heap: (s: number) => number): SoakSample[] {
  const out: SoakSample[] = [];
  for (let at = 0; at <= seconds; at += 5) out.push({ atS: at, rssMb: rss(at), heapUsedMb: heap(at), cpuMs: 1000 + 500 * at, gcSeconds: 2 + 0.025 * at });
  return out;
}

t.test('growth after the warm-up: flat is flat, a sawtooth heap is flat, a leak is a leak', async (t) => {
  const flat = soakGrowth(samples(600, () => 110, () => 40), 60);
  t.same(flat, { rssGrowthPct: 0, heapGrowthPct: 0, gcSharePct: 5 });

  // The heap climbs 30 → 60 MB between collections every 30 s: its least stays at 30.
  const sawtooth = soakGrowth(samples(600, (s) => 110 + (s % 10 === 0 ? 2 : -2), (s) => 30 + (s % 30)), 60);
  t.equal(sawtooth.heapGrowthPct, 0, 'the live heap did not grow');
  t.ok(Math.abs(sawtooth.rssGrowthPct) <= 2, 'noise in RSS is not growth');

  const leak = soakGrowth(samples(600, (s) => 100 + s / 10, (s) => 30 + s / 20 + (s % 30) / 2), 60);
  t.ok(leak.rssGrowthPct > 35 && leak.rssGrowthPct < 45, `RSS grew ${leak.rssGrowthPct}%`);
  t.ok(leak.heapGrowthPct > 50, `heap grew ${leak.heapGrowthPct}%`);

  const early = soakGrowth(samples(600, (s) => (s < 60 ? 50 + s : 110), () => 40), 60);
  t.equal(early.rssGrowthPct, 0, 'what grows during the warm-up does not count');
});

t.test('too short a soak measures nothing rather than something wrong', async (t) => {
  const none = soakGrowth(samples(60, () => 110, () => 40), 60);
  t.ok(Number.isNaN(none.rssGrowthPct) && Number.isNaN(none.heapGrowthPct) && Number.isNaN(none.gcSharePct));
  t.ok(Number.isNaN(soakGrowth([], 0).rssGrowthPct));
});
