// The keys command as an operator runs it: a process with the server's
// environment, its exit code and what it prints.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  const edDSA = { ...env, JWT_ALG: 'EdDSA' };
  const [rotated, unknown] = await Promise.all([keys(['rotate', '--alg', 'EdDSA'], env), keys(['revoke', 'A'.repeat(43)], env)]);
  const next = /^published ([\w-]{43}) \(EdDSA\) as the next key; replicas switch to it by themselves at \S+Z/.exec(rotated.stdout)?.[1];
  t.ok(next, rotated.stdout);
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr, `no key has kid ${'A'.repeat(43)}; run "list"\n`);
  const revoked = await keys(['revoke', current!], edDSA);
  t.equal(revoked.code, 0);
  t.match(revoked.stdout, `revoked ${current} (was current)`);
  t.match(revoked.stdout, `${next}, the published next key, signs now`);
  const text = await keys(['list'], env);
  t.match(text.stdout, new RegExp(`^state +alg +kid\\ncurrent +EdDSA +${next} +signing since \\S+\\nrevoked +EdDSA +${current} +revoked \\S+\\n$`));
});

/** A DATA_DIR of its own, as on an operator's workstation. */
function dataDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'roost-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('with DATABASE_URL and a wrong or missing ENCRYPTION_KEY: nothing written, exit 1', async (t) => {
  const db = await createDatabase({ databaseUrl, poolSize: 1, dataDir: '.data' });
  t.teardown(() => db.destroy());
  const rows = () => db.selectFrom('signing_keys').selectAll().orderBy('kid').execute();
  const before = await rows();
  const current = before.find((row) => row.state === 'current')!.kid;

  const wrong = { ...env, ENCRYPTION_KEY: randomBytes(32).toString('hex') };
  // Not production, no ENCRYPTION_KEY: the command must not fall back on a key of its DATA_DIR.
  const missing = { DATABASE_URL: databaseUrl, DATA_DIR: dataDir(t) };
  const [rotateWrong, revokeWrong, rotateMissing, revokeMissing] = await Promise.all([
    keys(['rotate'], wrong),
    keys(['revoke', current], wrong),
    keys(['rotate'], missing),
    keys(['revoke', current], missing),
  ]);
  for (const [name, run] of Object.entries({ rotateWrong, revokeWrong })) {
    t.equal(run.code, 1, name);
    t.equal(run.stdout, '');
    t.match(
      run.stderr,
      new RegExp(
        `^the current signing key ${current} does not open with this command's keys \\(ENCRYPTION_KEY [\\w-]+\\): sealed with key [\\w-]+, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS\\.\\n` +
          `A key this command wrote would not open on the replicas either[^\\n]*Set ENCRYPTION_KEY to the replicas' ENCRYPTION_KEY[^\\n]*nothing was changed\\.\\n$`,
      ),
    );
  }
  for (const [name, run] of Object.entries({ rotateMissing, revokeMissing })) {
    t.equal(run.code, 1, name);
    t.match(run.stderr, /^roost keys: invalid configuration:\n {2}- ENCRYPTION_KEY is required when DATABASE_URL is set/);
  }
  t.same(await rows(), before, 'every key as it was');
});

t.test('one lifecycle per algorithm: rotate --alg for one, rotate for JWT_ALG\'s, list shows each key\'s algorithm', async (t) => {
  // EdDSA signs (from above); JWT_ALG is ES256 now, and RS256 is published ahead of a switch to it.
  const [ahead, first] = await Promise.all([keys(['rotate', '--alg', 'RS256'], env), keys(['rotate'], env)]);
  t.equal(ahead.code, 0, ahead.stderr);
  const rs = /^published ([\w-]{43}) \(RS256\) ahead as the next key: no replica signs with RS256 yet/.exec(ahead.stdout)?.[1];
  t.ok(rs, ahead.stdout);
  t.equal(first.code, 0, first.stderr);
  const es = /^no key was signing: ([\w-]{43}) \(ES256\) signs now\n$/.exec(first.stdout)?.[1];
  t.ok(es, first.stdout);
  const listed = await keys(['list'], env);
  t.equal(listed.code, 0);
  t.match(listed.stdout, new RegExp(`^state +alg +kid\\nnext +RS256 +${rs} +published \\S+, signs from \\S+\\ncurrent +ES256 +${es} +signing since \\S+\\ncurrent +EdDSA +[\\w-]{43} +signing since \\S+\\nrevoked +EdDSA `));
});

t.test('with the embedded database, a refusal exits 1 too', async (t) => {
  const embedded = { DATA_DIR: dataDir(t) };
  const db = await createDatabase({ databaseUrl: undefined, poolSize: 1, dataDir: embedded.DATA_DIR });
  await migrateToLatest(db);
  await db.destroy();
  t.same(await keys(['revoke', 'A'.repeat(43)], embedded), { code: 1, stdout: '', stderr: `no key has kid ${'A'.repeat(43)}; run "list"\n` });
});
