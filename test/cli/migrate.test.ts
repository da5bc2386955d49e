// The migrate command as a release step runs it: a production process with
// only DATABASE_URL, its exit code and what it prints.
import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { runCommand } from '../helpers/child.js';
import { createTestSchema } from '../helpers/roost.js';

function migrate(env: Record<string, string>) {
  return runCommand({ script: 'src/cli/migrate.ts' }, [], env);
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
  t.equal(unreachable.stderr, 'roost migrate: DATABASE_URL: cannot connect to 127.0.0.1:1/test (connection refused: is Postgres running there?)\n');
});

t.test('in production with only DATABASE_URL: applies every migration, then nothing', async (t) => {
  const env = { NODE_ENV: 'production', DATABASE_URL: await createTestSchema(t) };
  t.same(await migrate(env), { code: 0, stdout: `applied: ${Object.keys(migrations).join(', ')}\n`, stderr: '' });
  t.same(await migrate(env), { code: 0, stdout: 'already up to date\n', stderr: '' });
});
