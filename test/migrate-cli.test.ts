// The migrate command as a release step runs it: a production process with
// only DATABASE_URL, its exit code and what it prints.
import { execFile } from 'node:child_process';
import t from 'tap';
import { migrations } from '../migrations/index.js';
import { createTestSchema } from './helpers/roost.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function migrate(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    // No coverage from these tsx processes: merged with tap's own it spoils the report (see helpers/child.ts).
    const childEnv = { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env };
    execFile(process.execPath, ['--import', 'tsx', 'src/migrate-cli.ts'], { env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

t.test('refusals: a bad DATABASE_URL, an unreachable database', async (t) => {
  const [bad, unreachable] = await Promise.all([
    migrate({ NODE_ENV: 'production', DATABASE_URL: 'mysql://db/roost', DATABASE_TIMEOUT_MS: '0' }),
    migrate({ NODE_ENV: 'production', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' }),
  ]);
  t.same(bad, {
    code: 1,
    stdout: '',
    stderr:
      'roost migrate: invalid configuration:\n  - DATABASE_URL must be a postgres:// or postgresql:// URL\n  - DATABASE_TIMEOUT_MS must be a whole number from 100 to 60000 (got "0")\n',
  });
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /^roost migrate: .*ECONNREFUSED/);
});

t.test('in production with only DATABASE_URL: applies every migration, then nothing', async (t) => {
  const env = { NODE_ENV: 'production', DATABASE_URL: await createTestSchema(t) };
  t.same(await migrate(env), { code: 0, stdout: `applied: ${Object.keys(migrations).join(', ')}\n`, stderr: '' });
  t.same(await migrate(env), { code: 0, stdout: 'already up to date\n', stderr: '' });
});
