// The keys command writes nothing the replicas could not open: rotate and
// revoke first check that the command's ENCRYPTION_KEY (or one of
// ENCRYPTION_KEYS_PREVIOUS) opens the keys the replicas sign with. And it
// keeps one lifecycle per algorithm, as the replicas do.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { keyId } from '../../src/keys/crypto-box.js';
import { runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { createKeyRing } from '../../src/keys/key-ring.js';
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

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const byAlg = async (db: Db) => (await rows(db)).map((row) => `${row.alg} ${row.state}`).sort();

t.test('rotate and revoke, algorithm by algorithm', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  let now = Date.UTC(2026, 0, 1);
  const events: unknown[] = [];
  const context: KeysContext = {
    db,
    encryptionKey,
    policy,
    alg: 'ES256',
    extraAlgs: ['RS256', 'EdDSA'],
    now: () => now,
    onKeyEvent: async (event) => events.push(event),
  };
  const first = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.match(first.output, /^no key was signing: [\w-]{43} \(ES256\) signs now\nno key was signing: [\w-]{43} \(RS256\) signs now\nno key was signing: [\w-]{43} \(EdDSA\) signs now\n$/, 'an empty database: a key per algorithm');
  t.same(await byAlg(db), ['ES256 current', 'EdDSA current', 'RS256 current']);
  t.same(events.map((event) => (event as { alg: string }).alg), ['ES256', 'RS256', 'EdDSA']);

  // Another algorithm's next key neither blocks nor stands in for one of ES256.
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'EdDSA' }), { exitCode: 0, output: /^published [\w-]{43} \(EdDSA\) as the next key/ });
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'RS256' }), { exitCode: 0, output: /^published [\w-]{43} \(RS256\) as the next key/ });
  const all = await rows(db);
  const esCurrent = all.find((row) => row.alg === 'ES256' && row.state === 'current')!.kid;
  const rsCurrent = all.find((row) => row.alg === 'RS256' && row.state === 'current')!.kid;
  const rsNext = all.find((row) => row.alg === 'RS256' && row.state === 'next')!.kid;
  events.length = 0;
  const revokedEs = await runKeysCommand(context, { name: 'revoke', kid: esCurrent });
  t.match(revokedEs.output, /, a new key, signs now/, 'the revoked ES256 key is replaced by a new ES256 key, not by a next key of another algorithm');
  t.match(events, [{ type: 'signing_key.revoked', kid: esCurrent, alg: 'ES256' }, { type: 'signing_key.rotated', alg: 'ES256' }]);
  const revokedRs = await runKeysCommand(context, { name: 'revoke', kid: rsCurrent });
  t.match(revokedRs.output, `${rsNext}, the published next key, signs now`);
  t.same(await byAlg(db), ['ES256 current', 'ES256 revoked', 'EdDSA current', 'EdDSA next', 'RS256 current', 'RS256 revoked']);

  now += policy.publishDelayMs;
  t.match(await runKeysCommand(context, { name: 'rotate', alg: undefined }), {
    exitCode: 0,
    output: /^published [\w-]{43} \(ES256\) as the next key[^\n]*\npublished [\w-]{43} \(RS256\) as the next key[^\n]*\n[\w-]{43} \(EdDSA\) signs now; [\w-]{43} stays in the JWKS until /,
  });

  // A current key of an algorithm outside the command's set: revoked without a replacement.
  const narrow: KeysContext = { ...context, extraAlgs: ['RS256'] };
  const edCurrent = (await rows(db)).find((row) => row.alg === 'EdDSA' && row.state === 'current')!.kid;
  const lone = await runKeysCommand(narrow, { name: 'revoke', kid: edCurrent });
  t.equal(lone.exitCode, 0);
  t.match(lone.output, `revoked ${edCurrent} (was current)`);
  t.match(lone.output, 'no EdDSA key signs now: EdDSA is not among ES256, RS256; a replica that signs with it makes a new key at its next refresh');
  t.notOk((await rows(db)).some((row) => row.alg === 'EdDSA' && row.state === 'current'));
  const replica = await createKeyRing({ db, encryptionKey, alg: 'ES256', extraAlgs: ['EdDSA'], policy, refreshIntervalMs: 0, now: () => now, logger: silent });
  t.teardown(() => replica.close());
  t.equal(replica.signingKey('EdDSA').alg, 'EdDSA', 'a replica with EdDSA makes one');
});

t.test('switching JWT_ALG without a failed verification: the new algorithm\'s key published ahead', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  let now = Date.UTC(2026, 0, 1);
  const ring = (alg: 'ES256' | 'RS256') => createKeyRing({ db, encryptionKey, alg, policy, refreshIntervalMs: 0, now: () => now, logger: silent });
  const before = await ring('ES256');
  t.teardown(() => before.close());
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', now: () => now };

  const ahead = await runKeysCommand(context, { name: 'rotate', alg: 'RS256' });
  t.equal(ahead.exitCode, 0);
  const kid = /^published ([\w-]{43}) \(RS256\) ahead as the next key: no replica signs with RS256 yet; .* from 2026-01-01T00:06:05\.000Z\n$/.exec(ahead.output)?.[1];
  t.ok(kid, ahead.output);
  t.match(await runKeysCommand(context, { name: 'rotate', alg: 'RS256' }), { exitCode: 0, output: `${kid} (RS256) is already published, ready for replicas that will sign with RS256; nothing to do` });
  now += 10 * policy.publishDelayMs;
  await before.refresh();
  t.same(await byAlg(db), ['ES256 current', 'RS256 next'], 'a replica without RS256 leaves it waiting, however long');
  t.ok(before.published().jwks.keys.some((key) => key.kid === kid), 'published all along');

  const after = await ring('RS256');
  t.teardown(() => after.close());
  t.equal(after.signingKey().kid, kid, 'the first replica with JWT_ALG=RS256 signs with it at once');
  t.same(await byAlg(db), ['ES256 current', 'RS256 current']);
});
