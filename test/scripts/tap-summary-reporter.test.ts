// The reporter npm test ends with: tap itself runs a few throwaway test files
// through it (one passes, one fails, two skip themselves, one has a subtest
// that skips itself), and its summary must add up and name the skipped files.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPORTER = path.join(ROOT, 'scripts/tap-summary-reporter.mjs');

const FILES: Record<string, string> = {
  // 2 passed, 1 skipped (t.skip), 1 skipped (a subtest that skips itself); not a file skip.
  'passes.test.mjs': `
    import t from 'tap';
    t.test('checks', async (t) => {
      t.pass('one');
      t.pass('two');
      t.skip('not here');
    });
    t.test('needs IPv6', async (t) => t.plan(0, 'no IPv6 loopback'));
  `,
  // 1 passed, 1 failed.
  'fails.test.mjs': `
    import t from 'tap';
    t.pass('fine');
    t.equal(1, 2, 'broken');
  `,
  // As test/flows/browser.test.ts without Chromium.
  'browser.test.mjs': `
    import t from 'tap';
    t.plan(0, 'chromium not installed');
  `,
  // As test/flows/dependencies-restart.test.ts without Postgres binaries: it exits at once.
  'restart.test.mjs': `
    import t from 'tap';
    t.plan(0, 'no Postgres server binaries');
    process.exit(0);
  `,
};

interface TapRun {
  readonly code: number | null;
  readonly stdout: string;
}

/** tap, run on FILES in a folder of their own with the reporter under test. */
async function runTap(t: Test): Promise<TapRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'roost-reporter-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(path.join(dir, name), text);
  const args = [path.join(ROOT, 'node_modules/tap/dist/esm/run.mjs'), '--reporter', REPORTER, '--disable-coverage', ...Object.keys(FILES)];
  // Only PATH and HOME: none of the TAP_* or NODE_OPTIONS this test process runs under.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: dir, env, timeout: 60_000 }, (error, stdout) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout }),
    );
  });
}

t.test('the summary counts every result and names the files that skipped themselves', async (t) => {
  const { code, stdout } = await runTap(t);
  t.equal(code, 1, 'tap fails the run for the failing file');
  t.match(stdout, /# Subtest: browser\.test\.mjs\n\s+1\.\.0 # chromium not installed/, 'the TAP stream passes through');
  const [files, counts] = stdout.trimEnd().split('\n').slice(-2);
  t.equal(counts, '3 passed, 1 failed, 4 skipped', 'the last line: t.skip, the skipped subtest and both skipped files');
  t.equal(files, '2 files skipped themselves: browser.test.mjs (chromium not installed), restart.test.mjs (no Postgres server binaries)', 'the line above names them with their reasons');
});
