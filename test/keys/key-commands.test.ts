// The keys command writes nothing the replicas could not open: rotate and
// revoke first check that the command's ENCRYPTION_KEY (or one of
// ENCRYPTION_KEYS_PREVIOUS) opens the keys the replicas sign with. And
// rotate --alg never silently ignores the algorithm asked for.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { keyId } from '../../src/keys/crypto-box.js';
import { runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { insertKey, revokeKey } from '../../src/keys/key-store.js';
import { generateSigningKey } from '../../src/keys/signing-keys.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { createTestSchema } from '../helpers/roost.js';

const policy = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 0 });

async function freshDb(t: Parameters<typeof createTestSchema>[0]): Promise<Db> {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.data' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  return db;
}

/** Every column of every key, to show that a refusal changed nothing. */
const rows = (db: Db) => db.selectFrom('signing_keys').selectAll().orderBy('kid').execute();
const kidIn = (state: string, all: Awaited<ReturnType<typeof rows>>) => all.find((row) => row.state === state)?.kid;

t.test('a command whose ENCRYPTION_KEY does not open the keys the replicas sign with writes nothing', async (t) => {
  const db = await freshDb(t);
  const replicas = randomBytes(32);
  const other = randomBytes(32);
  const as = (encryptionKey: KeysContext['encryptionKey']): KeysContext => ({ db, encryptionKey, policy, alg: 'ES256', now: Date.now });
  const first = /signs now/.test((await runKeysCommand(as(replicas), { name: 'rotate', alg: undefined })).output);
  t.ok(first, 'an empty database has nothing to compare with: the first key is made');
  const current = kidIn('current', await rows(db))!;

  const before = await rows(db);
  for (const command of [{ name: 'rotate', alg: undefined }, { name: 'revoke', kid: current }] as const) {
    const refused = await runKeysCommand(as(other), command);
    t.equal(refused.exitCode, 1, command.name);
    t.equal(
      refused.output,
      `the current signing key ${current} does not open with this command's keys (ENCRYPTION_KEY ${keyId(other)}): ` +
        `sealed with key ${keyId(replicas)}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS.\n` +
        'A key this command wrote would not open on the replicas either, and they would stop issuing tokens. ' +
        `Set ENCRYPTION_KEY to the replicas' ENCRYPTION_KEY (and ENCRYPTION_KEYS_PREVIOUS to theirs, or to the key that sealed ${current}), then run the command again; nothing was changed.\n`,
    );
    t.same(await rows(db), before, `${command.name}: nothing changed`);
  }

  // A next key sealed elsewhere would sign next: rotate refuses to promote it; revoking it is fine.
  const stray = await generateSigningKey('ES256', other);
  await insertKey(db, stray, 'next', new Date(Date.now() - policy.publishDelayMs));
  const promote = await runKeysCommand(as(replicas), { name: 'rotate', alg: undefined });
  t.equal(promote.exitCode, 1);
  t.match(promote.output, `the next signing key ${stray.kid} does not open with this command's keys`);
  t.equal(kidIn('current', await rows(db)), current, 'not promoted');
  t.match(await runKeysCommand(as(other), { name: 'revoke', kid: stray.kid }), { exitCode: 1 }, 'not by a command that cannot open the current key');
  t.match(await runKeysCommand(as(replicas), { name: 'revoke', kid: stray.kid }), { exitCode: 0, output: `revoked ${stray.kid} (was next)` });

  // A current key sealed elsewhere, with no other key to vouch for the replicas' ENCRYPTION_KEY:
  // revoking it needs the key that sealed it among ENCRYPTION_KEYS_PREVIOUS.
  const replaced = await revokeKey(db, current, new Date(), () => generateSigningKey('ES256', other));
  const bad = replaced.outcome === 'revoked' ? replaced.replacement!.kid : '';
  const stuck = await rows(db);
  t.match(await runKeysCommand(as(replicas), { name: 'revoke', kid: bad }), { exitCode: 1, output: `the current signing key ${bad} does not open` });
  t.same(await rows(db), stuck);
  const fixed = await runKeysCommand(as({ current: replicas, previous: [other] }), { name: 'revoke', kid: bad });
  t.equal(fixed.exitCode, 0, fixed.output);
  const fresh = /([\w-]{43}), a new key, signs now/.exec(fixed.output)![1]!;
  t.match(await runKeysCommand(as(replicas), { name: 'rotate', alg: undefined }), { exitCode: 0 }, `${fresh} is sealed with the replicas' key`);
  t.match(await runKeysCommand(as(other), { name: 'revoke', kid: kidIn('next', await rows(db))! }), { exitCode: 1, output: `the current signing key ${fresh} does not open` });
});

t.test('rotate --alg with a next key of another algorithm already published: refused, not ignored', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  let now = Date.UTC(2026, 0, 1);
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', now: () => now };
  await runKeysCommand(context, { name: 'rotate', alg: undefined });
  const published = await runKeysCommand(context, { name: 'rotate', alg: 'EdDSA' });
  t.match(published.output, /\(EdDSA\) as the next key/);
  const next = kidIn('next', await rows(db))!;
  const before = await rows(db);

  const refused = await runKeysCommand(context, { name: 'rotate', alg: 'RS256' });
  t.same(refused, {
    exitCode: 1,
    output:
      `${next} (EdDSA) is already published as the next key, so rotate --alg RS256 cannot take effect: ` +
      `revoke it first (npm run keys -- revoke ${next}), then run rotate --alg RS256 again; nothing was changed\n`,
  });
  t.same(await rows(db), before);
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'EdDSA' }), { exitCode: 0, output: `${next} (EdDSA) is already published and starts signing at` });
  t.match(await runKeysCommand(context, { name: 'rotate', alg: undefined }), { exitCode: 0, output: 'nothing to do' }, 'without --alg, JWT_ALG does not count against it');

  now += policy.publishDelayMs;
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'ES256' }), { exitCode: 1 }, 'nor when it is due');
  t.same(await rows(db), before);
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'EdDSA' }), { exitCode: 0, output: `${next} (EdDSA) signs now` });

  await runKeysCommand(context, { name: 'rotate', alg: 'RS256' });
  t.match(await runKeysCommand(context, { name: 'revoke', kid: kidIn('next', await rows(db))! }), { exitCode: 0, output: '(was next)' });
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'ES256' }), { exitCode: 0, output: /\(ES256\) as the next key/ }, 'once revoked, another algorithm can be published');
});
