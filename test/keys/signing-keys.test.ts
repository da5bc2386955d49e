// Signing keys in Postgres: created once even when replicas race, sealed at
// rest, rotated, expired and revoked by every replica and by the keys command
// without two replicas ever disagreeing on which key signs.
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { Migrator, sql } from 'kysely';
import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { KEYS_USAGE, parseKeysCommand, runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { createKeyRing, type KeyRing } from '../../src/keys/key-ring.js';
import { decryptSecret, encryptSecret } from '../../src/keys/crypto-box.js';
import { insertKey, promoteKey, revokeKey } from '../../src/keys/key-store.js';
import { generateSigningKey, SIGNING_ALGS, toPublicJwk, type SigningAlg } from '../../src/keys/signing-keys.js';
import { createTestSchema } from '../helpers/roost.js';

const policy = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 0 });
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const MIN = 60_000;

async function freshDb(t: Parameters<typeof createTestSchema>[0]): Promise<Db> {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 10, dataDir: '.data' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  return db;
}

interface Clock {
  now: number;
}

function ring(t: Parameters<typeof createTestSchema>[0], db: Db, encryptionKey: Buffer, clock: Clock, extra: Partial<Parameters<typeof createKeyRing>[0]> = {}) {
  return createKeyRing({ db, encryptionKey, alg: 'ES256', policy, refreshIntervalMs: 0, now: () => clock.now, logger: silent, ...extra }).then((created) => {
    t.teardown(() => created.close());
    return created;
  });
}

const states = async (db: Db) =>
  Object.fromEntries((await db.selectFrom('signing_keys').select(['kid', 'state']).execute()).map((row) => [row.kid, row.state]));
const kids = (keys: KeyRing) => keys.published().jwks.keys.map((key) => key.kid);

t.test('migrations run once', async (t) => {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.data' });
  t.teardown(() => db.destroy());
  t.same(await migrateToLatest(db), Object.keys(migrations));
  t.ok(Object.keys(migrations).includes('0003_sessions'));
  t.same(await migrateToLatest(db), []);
  await t.rejects(
    sql`insert into signing_keys (kid, alg, state, public_jwk) values ('x', 'ES256', 'retired', '{}')`.execute(db),
    /signing_keys_state/,
    'the state column accepts only the lifecycle states',
  );
});

t.test('a key made before the lifecycle migration keeps signing after it', async (t) => {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.data' });
  t.teardown(() => db.destroy());
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const onlyFirst = new Migrator({ db, provider: { getMigrations: async () => ({ '0001_initial': migrations['0001_initial']! }) }, migrationTableSchema: rows[0]!.schema });
  t.error((await onlyFirst.migrateToLatest()).error);
  // As the first release stored it.
  const encryptionKey = randomBytes(32);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk, 'sha256');
  await sql`insert into signing_keys (kid, alg, state, public_jwk, private_jwk_sealed, created_at)
    values (${kid}, 'ES256', 'current', ${JSON.stringify(toPublicJwk(privateJwk, kid, 'ES256'))}, ${encryptSecret(encryptionKey, JSON.stringify(privateJwk), `signing_key:${kid}`)}, '2025-01-01T00:00:00Z')`.execute(db);

  t.same(await migrateToLatest(db), Object.keys(migrations).filter((name) => name !== '0001_initial'));
  const row = await db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
  t.equal(row.published_at.toISOString(), '2025-01-01T00:00:00.000Z');
  t.equal(row.activated_at?.toISOString(), '2025-01-01T00:00:00.000Z');
  const keys = await ring(t, db, encryptionKey, { now: Date.now() });
  t.equal(keys.signingKey().kid, kid, 'the same key signs');
  t.same(kids(keys), [kid]);
});

t.test('replicas starting at once on an empty database create exactly one key', async (t) => {
  const db = await freshDb(t);
  const key = randomBytes(32);
  const clock = { now: Date.now() };
  const rings = await Promise.all(Array.from({ length: 8 }, () => ring(t, db, key, clock)));
  t.equal(new Set(rings.map((r) => r.signingKey().kid)).size, 1);
  const rows = await db.selectFrom('signing_keys').selectAll().execute();
  t.equal(rows.length, 1);
  t.equal(rows[0]?.state, 'current');
  t.match(rows[0]?.private_jwk_sealed, /^v2\./);
  t.notOk('d' in (rows[0]?.public_jwk ?? {}), 'the public JWK column holds no private member');
  t.equal((await ring(t, db, key, clock)).signingKey().kid, rings[0]?.signingKey().kid, 'a restart reads the same key');
  t.same(new Set(rings.map((r) => r.published().etag)).size, 1, 'every replica publishes the same bytes');
});

t.test('another ENCRYPTION_KEY cannot open the key', async (t) => {
  const db = await freshDb(t);
  const clock = { now: Date.now() };
  await ring(t, db, randomBytes(32), clock);
  await t.rejects(ring(t, db, randomBytes(32), clock), /cannot be decrypted: is ENCRYPTION_KEY \(or one of ENCRYPTION_KEYS_PREVIOUS\) the one it was sealed with/);
});

t.test('each algorithm: a key of the right type, kid = RFC 7638 thumbprint, public members only', async (t) => {
  const expected: Record<SigningAlg, { kty: string; crv?: string; members: string[] }> = {
    ES256: { kty: 'EC', crv: 'P-256', members: ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'] },
    EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['kty', 'crv', 'x', 'kid', 'alg', 'use'] },
    RS256: { kty: 'RSA', members: ['kty', 'n', 'e', 'kid', 'alg', 'use'] },
  };
  for (const alg of SIGNING_ALGS) {
    const key = await generateSigningKey(alg, randomBytes(32));
    t.same(Object.keys(key.publicJwk), expected[alg].members, alg);
    t.match(key.publicJwk, { kty: expected[alg].kty, alg, use: 'sig', kid: key.kid }, alg);
    if (expected[alg].crv) t.equal(key.publicJwk.crv, expected[alg].crv);
    t.equal(key.kid, await calculateJwkThumbprint(key.publicJwk as JWK, 'sha256'), `${alg}: kid is the thumbprint of the public key`);
    if (alg === 'RS256') t.equal(Buffer.from(key.publicJwk.n ?? '', 'base64url').length, 256, 'RSA keys are 2048 bits');
    t.notOk(key.privateJwkSealed.includes('"d"'), 'the private part is sealed');
  }
});

t.test('a rotation: published first, signing after the delay, the old key published until its tokens expired', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const [a, b] = [await ring(t, db, encryptionKey, clock), await ring(t, db, encryptionKey, clock)];
  const first = a.signingKey().kid;
  const context: KeysContext = { db, encryptionKey, policy, alg: 'EdDSA', now: () => clock.now };

  const rotated = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.equal(rotated.exitCode, 0);
  const next = /^published ([\w-]{43}) \(EdDSA\) as the next key; replicas switch to it by themselves at 2026-01-01T00:06:05\.000Z/.exec(rotated.output)?.[1];
  t.ok(next, rotated.output);
  t.match((await runKeysCommand(context, { name: 'rotate', alg: undefined })).output, `${next} (EdDSA) is already published and starts signing at 2026-01-01T00:06:05.000Z; nothing to do`);

  await Promise.all([a.refresh(), b.refresh()]);
  for (const r of [a, b]) {
    t.equal(r.signingKey().kid, first, 'the old key still signs');
    t.same(kids(r), [first, next], 'the next key is published');
    t.same(r.published().algorithms, ['ES256', 'EdDSA']);
  }

  clock.now += policy.publishDelayMs - 1;
  await a.refresh();
  t.equal(a.signingKey().kid, first, 'one millisecond early: still the old key');
  clock.now += 1;
  // Both replicas find the promotion due at once; one applies it.
  await Promise.all([a.refresh(), b.refresh()]);
  t.same(await states(db), { [first]: 'previous', [next!]: 'current' });
  for (const r of [a, b]) {
    t.equal(r.signingKey().kid, next, 'every replica signs with the new key');
    t.equal(r.signingKey().alg, 'EdDSA');
    t.same(kids(r), [next, first], 'the old key stays published');
  }

  clock.now += policy.previousWindowMs - 1;
  await a.refresh();
  t.same(kids(a), [next, first], 'until every token it signed has expired');
  clock.now += 1;
  await a.refresh();
  t.same(kids(a), [next]);
  const expired = await db.selectFrom('signing_keys').selectAll().where('kid', '=', first).executeTakeFirstOrThrow();
  t.equal(expired.state, 'expired');
  t.equal(expired.private_jwk_sealed, null, 'its private part is erased');
  t.equal(expired.expired_at?.getTime(), clock.now);

  const listed = JSON.parse((await runKeysCommand(context, { name: 'list', json: true })).output) as Array<Record<string, unknown>>;
  t.match(listed, [
    { kid: next, state: 'current', alg: 'EdDSA', activated_at: '2026-01-01T00:06:05.000Z', retired_at: null },
    { kid: first, state: 'expired', alg: 'ES256', retired_at: '2026-01-01T00:06:05.000Z', expired_at: String },
  ]);
  const text = (await runKeysCommand(context, { name: 'list', json: false })).output;
  t.match(text, new RegExp(`^state +alg +kid\\ncurrent +EdDSA +${next} +signing since 2026-01-01T00:06:05.000Z\\nexpired +ES256 +${first} +left the JWKS`));
});

t.test('rotate when the next key is due switches at once', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const keys = await ring(t, db, encryptionKey, clock);
  const first = keys.signingKey().kid;
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', now: () => clock.now };
  await runKeysCommand(context, { name: 'rotate', alg: 'RS256' });
  const next = Object.entries(await states(db)).find(([, state]) => state === 'next')?.[0];
  clock.now += policy.publishDelayMs;
  const switched = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.equal(switched.output, `${next} (RS256) signs now; ${first} stays in the JWKS until 2026-01-01T00:22:10.000Z\n`);
  await keys.refresh();
  t.equal(keys.signingKey().kid, next);
  t.equal(keys.signingKey().alg, 'RS256');
  t.match((await runKeysCommand(context, { name: 'list', json: false })).output, /previous +ES256 +\S+ +signed until 2026-01-01T00:06:05.000Z, in the JWKS until 2026-01-01T00:22:10.000Z/);
});

t.test('automatic rotation: one next key however many replicas, signing when the interval ends', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const rotating = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 86400 });
  const rings = await Promise.all(Array.from({ length: 4 }, () => ring(t, db, encryptionKey, clock, { policy: rotating })));
  const first = rings[0]!.signingKey().kid;
  clock.now += 86_400_000 - rotating.publishDelayMs - 1;
  await Promise.all(rings.map((r) => r.refresh()));
  t.equal(Object.keys(await states(db)).length, 1, 'not yet');
  clock.now += 1;
  await Promise.all(rings.map((r) => r.refresh()));
  const after = await states(db);
  t.equal(Object.values(after).filter((state) => state === 'next').length, 1, 'exactly one next key');
  clock.now += rotating.publishDelayMs;
  await Promise.all(rings.map((r) => r.refresh()));
  t.equal(new Set(rings.map((r) => r.signingKey().kid)).size, 1, 'every replica signs with the same key');
  t.not(rings[0]!.signingKey().kid, first, 'a day after the first key began signing, the second one signs');
});

t.test('revoke', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const keys = await ring(t, db, encryptionKey, clock);
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', now: () => clock.now };
  const first = keys.signingKey().kid;

  t.same(await runKeysCommand(context, { name: 'revoke', kid: 'A'.repeat(43) }), { exitCode: 1, output: `no key has kid ${'A'.repeat(43)}; run "list"\n` });

  // The current key with a published next key: the next key signs at once.
  await runKeysCommand(context, { name: 'rotate', alg: undefined });
  const second = Object.entries(await states(db)).find(([, state]) => state === 'next')![0];
  const revoked = await runKeysCommand(context, { name: 'revoke', kid: first });
  t.equal(revoked.exitCode, 0);
  t.match(revoked.output, `revoked ${first} (was current)`);
  t.match(revoked.output, `${second}, the published next key, signs now`);
  t.same(await states(db), { [first]: 'revoked', [second]: 'current' });
  const row = await db.selectFrom('signing_keys').selectAll().where('kid', '=', first).executeTakeFirstOrThrow();
  t.equal(row.private_jwk_sealed, null, 'the private part is erased');
  t.equal(row.revoked_at?.getTime(), clock.now);
  await keys.refresh();
  t.equal(keys.signingKey().kid, second);
  t.same(kids(keys), [second], 'the revoked key left the JWKS');

  t.same(await runKeysCommand(context, { name: 'revoke', kid: first }), { exitCode: 0, output: `${first} was already revoked\n` });

  // The current key alone: a new key signs at once.
  const alone = await runKeysCommand(context, { name: 'revoke', kid: second });
  const third = /([\w-]{43}), a new key, signs now/.exec(alone.output)?.[1];
  t.ok(third, alone.output);
  await keys.refresh();
  t.equal(keys.signingKey().kid, third);
  t.same(kids(keys), [third]);

  // A next key and a previous key simply leave.
  await runKeysCommand(context, { name: 'rotate', alg: undefined });
  clock.now += policy.publishDelayMs;
  await keys.refresh();
  const fourth = keys.signingKey().kid;
  t.same(kids(keys), [fourth, third]);
  t.match((await runKeysCommand(context, { name: 'revoke', kid: third! })).output, `revoked ${third} (was previous)`);
  await runKeysCommand(context, { name: 'rotate', alg: undefined });
  await keys.refresh();
  const fifth = kids(keys)[1]!;
  t.match((await runKeysCommand(context, { name: 'revoke', kid: fifth })).output, `revoked ${fifth} (was next)`);
  await keys.refresh();
  t.equal(keys.signingKey().kid, fourth);
  t.same(kids(keys), [fourth]);
});

t.test('a failing refresh keeps the last known keys', async (t) => {
  const db = await freshDb(t);
  const clock = { now: Date.now() };
  const keys = await ring(t, db, randomBytes(32), clock);
  const before = keys.signingKey();
  await sql`alter table signing_keys rename to signing_keys_away`.execute(db);
  await t.rejects(keys.refresh(), { code: 'database_unavailable' });
  t.equal(keys.signingKey(), before, 'still signing with the same key');
  await sql`alter table signing_keys_away rename to signing_keys`.execute(db);
  await keys.refresh();
  t.equal(keys.signingKey().kid, before.kid);
});

t.test('a current key this replica cannot open: it signs nothing, publishes what Postgres holds, and signs again once the key opens', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const otherKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const logged: unknown[][] = [];
  const logger = { ...silent, error: (...args: unknown[]) => void logged.push(args) };
  const keys = await ring(t, db, encryptionKey, clock, { logger });
  const first = keys.signingKey().kid;

  // Revoked by someone whose ENCRYPTION_KEY is another: its replacement is sealed with that.
  const revoked = await revokeKey(db, first, new Date(clock.now), () => generateSigningKey('ES256', otherKey));
  const replacement = revoked.outcome === 'revoked' ? revoked.replacement!.kid : '';
  await t.resolves(keys.refresh(), 'a key that does not open is a state, not a failed refresh');
  t.throws(
    () => keys.signingKey(),
    {
      code: 'signing_key_unavailable',
      status: 503,
      // What a client sees says no more than that; what the operator should do is in the cause.
      detail: 'This server cannot issue tokens right now; try again shortly',
      cause: { message: new RegExp(`cannot open the current signing key ${replacement} \\(sealed with key [\\w-]+, which is neither ENCRYPTION_KEY`) },
    },
    'the revoked key no longer signs',
  );
  t.same(kids(keys), [replacement], 'the revoked key left the JWKS all the same');
  t.equal(logged.length, 1);
  t.match(logged[0], [{ kid: replacement }, /^this replica stops issuing tokens: This replica cannot open/]);
  await keys.refresh();
  t.throws(() => keys.signingKey(), { code: 'signing_key_unavailable' }, 'still not, refresh after refresh');
  t.equal(logged.length, 1, 'said once');

  // The operator re-seals the key with the replicas' ENCRYPTION_KEY, in place.
  const row = await db.selectFrom('signing_keys').selectAll().where('kid', '=', replacement).executeTakeFirstOrThrow();
  const context = `signing_key:${replacement}`;
  const resealed = encryptSecret(encryptionKey, decryptSecret(otherKey, row.private_jwk_sealed!, context), context);
  await db.updateTable('signing_keys').set({ private_jwk_sealed: resealed }).where('kid', '=', replacement).execute();
  await keys.refresh();
  t.equal(keys.signingKey().kid, replacement, 'signs again on the next refresh');

  // A rotation to a key it cannot open: the same, with the previous key still published.
  const next = await generateSigningKey('ES256', otherKey);
  await insertKey(db, next, 'next', new Date(clock.now));
  await promoteKey(db, next.kid, replacement, new Date(clock.now));
  await keys.refresh();
  t.throws(() => keys.signingKey(), { code: 'signing_key_unavailable' });
  t.same(kids(keys), [next.kid, replacement]);

});

t.test('a replica that cannot open the current key publishes no next key of its own', async (t) => {
  const db = await freshDb(t);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const rotating = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 86400 });
  const keys = await ring(t, db, randomBytes(32), clock, { policy: rotating });
  // Replaced by a key sealed with an ENCRYPTION_KEY this replica lacks.
  const revoked = await revokeKey(db, keys.signingKey().kid, new Date(clock.now), () => generateSigningKey('ES256', randomBytes(32)));
  const current = revoked.outcome === 'revoked' ? revoked.replacement!.kid : '';
  clock.now += 86_400_000;
  await t.resolves(keys.refresh(), 'a key that does not open is a state, not a failed refresh');
  t.throws(() => keys.signingKey(), { code: 'signing_key_unavailable' });
  const after = await states(db);
  t.equal(Object.values(after).filter((state) => state === 'next').length, 0, 'a key it sealed would open only where its ENCRYPTION_KEY does');
  t.equal(after[current], 'current');
});

t.test('the command line', async (t) => {
  const cases: Array<[string[], unknown]> = [
    [['list'], { name: 'list', json: false }],
    [['list', '--json'], { name: 'list', json: true }],
    [['rotate'], { name: 'rotate', alg: undefined }],
    [['rotate', '--alg', 'EdDSA'], { name: 'rotate', alg: 'EdDSA' }],
    [['rotate', '--alg=RS256'], { name: 'rotate', alg: 'RS256' }],
    [['revoke', 'NiSWQes4J2pbRYwzNB5Cwa0euuewXmiOF3ur87zrT8U'], { name: 'revoke', kid: 'NiSWQes4J2pbRYwzNB5Cwa0euuewXmiOF3ur87zrT8U' }],
    [[], { error: 'a command is required' }],
    [['delete'], { error: 'unknown command "delete"' }],
    [['list', '--all'], { error: /list takes only --json/ }],
    [['rotate', '--alg'], { error: /rotate takes only --alg/ }],
    [['rotate', '--alg', 'HS256'], { error: '--alg must be one of ES256, EdDSA, RS256 (got "HS256")' }],
    [['rotate', '--alg=none'], { error: /got "none"/ }],
    [['rotate', 'now'], { error: /rotate takes only --alg/ }],
    [['revoke'], { error: 'revoke takes exactly one kid' }],
    [['revoke', 'a', 'b'], { error: 'revoke takes exactly one kid' }],
    [['revoke', "x'; drop table signing_keys; --"], { error: /is not a key id/ }],
  ];
  for (const [argv, expected] of cases) t.match(parseKeysCommand(argv), expected as object, argv.join(' ') || '(nothing)');
  t.match(KEYS_USAGE, /list \[--json\][\s\S]*rotate \[--alg A\][\s\S]*ES256, EdDSA, RS256[\s\S]*revoke <kid>/);
});

t.test('list on an empty database', async (t) => {
  const db = await freshDb(t);
  const context: KeysContext = { db, encryptionKey: randomBytes(32), policy, alg: 'ES256', now: Date.now };
  t.same(await runKeysCommand(context, { name: 'list', json: false }), { exitCode: 0, output: 'no signing keys yet: the first roost to start creates one\n' });
  t.same(await runKeysCommand(context, { name: 'list', json: true }), { exitCode: 0, output: '[]\n' });
  const first = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.match(first.output, /^no key was signing: [\w-]{43} \(ES256\) signs now\n$/);
});

t.test('a stale promotion changes nothing', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const keys = await ring(t, db, encryptionKey, clock);
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', now: () => clock.now };
  await runKeysCommand(context, { name: 'rotate', alg: undefined });
  clock.now += MIN + policy.publishDelayMs;
  // The command switches; a replica that planned the same switch from older rows must not demote the new key.
  await runKeysCommand(context, { name: 'rotate', alg: undefined });
  const { promoteKey } = await import('../../src/keys/key-store.js');
  const before = await states(db);
  const next = Object.entries(before).find(([, state]) => state === 'current')![0];
  const old = Object.entries(before).find(([, state]) => state === 'previous')![0];
  t.equal(await promoteKey(db, next, old, new Date(clock.now)), false);
  t.same(await states(db), before);
  await keys.refresh();
  t.equal(keys.signingKey().kid, next);
});
