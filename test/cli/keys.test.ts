// The keys command as an operator runs it: a process with the server's
// environment, its exit code and what it prints.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { runCommand } from '../helpers/child.js';
import { createTestSchema } from '../helpers/roost.js';

function keys(args: string[], env: Record<string, string>, viaNpm = false) {
  return runCommand(viaNpm ? { npmScript: 'keys' } : { script: 'src/cli/keys.ts' }, args, env);
}

const databaseUrl = await createTestSchema(t);
// Production, with only the variables docs/configuration.md names for these commands.
const env = { NODE_ENV: 'production', DATABASE_URL: databaseUrl, ENCRYPTION_KEY: randomBytes(32).toString('hex') };

t.test('refusals: no migrations yet, bad usage, bad configuration', async (t) => {
  // Independent processes, started together to keep the file quick.
  const { ENCRYPTION_KEY: _key, ...withoutKey } = env;
  const [unmigrated, usage, nothing, config, keyless] = await Promise.all([
    keys(['list'], env),
    keys(['rotate', '--alg', 'HS256'], env),
    keys([], env),
    keys(['list'], { ...env, JWT_ALG: 'HS256', KEY_REFRESH_INTERVAL: '0' }),
    keys(['list'], withoutKey),
  ]);
  t.equal(unmigrated.code, 1);
  t.match(unmigrated.stderr, /^roost keys: the database failed: relation "signing_keys" does not exist \(apply the migrations first: npm run migrate, or node dist\/src\/cli\/migrate\.js from a build\)\n$/);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /^roost keys: --alg must be one of ES256, EdDSA, RS256 \(got "HS256"\)\nusage: npm run keys -- <command>/);
  t.equal(usage.stdout, '');
  t.equal(nothing.code, 2);
  t.match(nothing.stderr, /a command is required/);
  t.equal(config.code, 1);
  t.match(config.stderr, /JWT_ALG must be one of ES256, EdDSA, RS256 \(got "HS256"\)/);
  t.match(config.stderr, /KEY_REFRESH_INTERVAL must be a whole number from 1 to 300/);
  t.same(keyless, { code: 1, stdout: '', stderr: 'roost keys: invalid configuration:\n  - ENCRYPTION_KEY is required when NODE_ENV=production (32 random bytes, hex or base64)\n' });
});

t.test('list, rotate and revoke', async (t) => {
  const db = await createDatabase({ databaseUrl, poolSize: 1, dataDir: '.data' });
  await migrateToLatest(db);
  await db.destroy();

  t.same(await keys(['list'], env, true), { code: 0, stdout: 'no signing keys yet: the first roost to start creates one\n', stderr: '' }, 'npm run keys -- list');
  const first = await keys(['rotate'], { ...env, JWT_ALG: 'EdDSA' });
  t.equal(first.code, 0);
  const current = /^no key was signing: ([\w-]{43}) \(EdDSA\) signs now\n$/.exec(first.stdout)?.[1];
  t.ok(current, first.stdout);
  const [rotated, unknown] = await Promise.all([keys(['rotate', '--alg', 'RS256'], env), keys(['revoke', 'A'.repeat(43)], env)]);
  const next = /^published ([\w-]{43}) \(RS256\) as the next key; replicas switch to it by themselves at \S+Z/.exec(rotated.stdout)?.[1];
  t.ok(next, rotated.stdout);
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr, `no key has kid ${'A'.repeat(43)}; run "list"\n`);
  const revoked = await keys(['revoke', current!], env);
  t.equal(revoked.code, 0);
  t.match(revoked.stdout, `revoked ${current} (was current)`);
  t.match(revoked.stdout, `${next}, the published next key, signs now`);
  const text = await keys(['list'], env);
  t.match(text.stdout, new RegExp(`^state +alg +kid\\ncurrent +RS256 +${next} +signing since \\S+\\nrevoked +EdDSA +${current} +revoked \\S+\\n$`));
});
