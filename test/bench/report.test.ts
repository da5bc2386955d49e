// npm run bench -- --update-readme rewrites only what lies between the bench
// markers of docs/performance.md, and refuses a page without them.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { BENCH_END, BENCH_START, updateBenchSection } from '../../bench/report.js';

t.test('replaces the section between the markers and keeps the rest', async (t) => {
  const page = `# Performance\n\nbefore\n${BENCH_START}\nold table\n${BENCH_END}\nafter\n`;
  const updated = updateBenchSection(page, '| new | table |\n');
  t.equal(updated, `# Performance\n\nbefore\n${BENCH_START}\n| new | table |\n${BENCH_END}\nafter\n`);
  t.equal(updateBenchSection(updated, '| new | table |\n'), updated, 'running it twice changes nothing');
});

t.test('refuses a page without both markers, in order', async (t) => {
  t.throws(() => updateBenchSection('# Performance\n', 'x'), /docs\/performance\.md has no <!-- bench:start -->/);
  t.throws(() => updateBenchSection(`${BENCH_END}\n${BENCH_START}\n`, 'x'), /has no/);
  t.throws(() => updateBenchSection(`${BENCH_START}\n`, 'x'), /has no/);
});

t.test('docs/performance.md carries the markers the benchmark writes between', async (t) => {
  const page = readFileSync(new URL('../../docs/performance.md', import.meta.url), 'utf8');
  t.doesNotThrow(() => updateBenchSection(page, 'x\n'));
  t.equal(page.split(BENCH_START).length, 2, 'one start marker');
  t.equal(page.split(BENCH_END).length, 2, 'one end marker');
});
