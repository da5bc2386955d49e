// Signing keys in Postgres: created once even when replicas race, sealed at
// rest, rotated, expired and revoked by every replica and by the keys command
// without two replicas ever disagreeing on which key signs; one lifecycle per
// algorithm, every algorithm's keys in one JWKS.
import { randomBytes } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { Migrator, sql } from 'kysely';
import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { KEYS_USAGE, parseKeysCommand, runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { createKeyRing, type KeyRing } from '../../src/keys/key-ring.js';
import { decryptSecret, encryptSecret } from '../../src/keys/crypto-box.js';
import { insertKey, promoteKey, revokeKey, retireKeys } from '../../src/keys/key-store.js';
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

t.test('migration 0009: one current and one next key per algorithm; down keeps one algorithm\'s', async (t) => {
  const db = await createDatabase({ databaseUrl: await createTestSchema(t), poolSize: 2, dataDir: '.data' });
  t.teardown(() => db.destroy());
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const upTo = (last: string) =>
    new Migrator({
      db,
      provider: { getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([name]) => name <= last)) },
      migrationTableSchema: rows[0]!.schema,
    });
  const through0009 = upTo('0009_signing_keys_per_algorithm');
  t.error((await through0009.migrateToLatest()).error);
  const insert = (kid: string, alg: string, state: string, created: string) =>
    sql`insert into signing_keys (kid, alg, state, public_jwk, private_jwk_sealed, created_at) values (${kid}, ${alg}, ${state}, '{}', 'sealed', ${created})`.execute(db);
  await insert('es-current', 'ES256', 'current', '2025-01-01T00:00:00Z');
  await insert('rs-current', 'RS256', 'current', '2025-06-01T00:00:00Z');
  await insert('rs-next', 'RS256', 'next', '2025-06-02T00:00:00Z');
  await insert('es-next', 'ES256', 'next', '2025-06-03T00:00:00Z');
  await t.rejects(insert('es-current-2', 'ES256', 'current', '2025-07-01T00:00:00Z'), /signing_keys_one_current_per_alg/, 'a second current key of an algorithm');
  await t.rejects(insert('rs-next-2', 'RS256', 'next', '2025-07-01T00:00:00Z'), /signing_keys_one_next_per_alg/, 'a second next key of an algorithm');
  await insert('ed-current', 'EdDSA', 'current', '2025-07-01T00:00:00Z');

  // Down: the algorithm whose keys go back furthest keeps its current and next keys.
  t.error((await through0009.migrateDown()).error);
  const after = await sql<{ kid: string; state: string; retired: boolean; sealed: string | null }>`
    select kid, state, retired_at is not null as retired, private_jwk_sealed as sealed from signing_keys order by kid`.execute(db);
  t.same(after.rows, [
    { kid: 'ed-current', state: 'previous', retired: true, sealed: 'sealed' },
    { kid: 'es-current', state: 'current', retired: false, sealed: 'sealed' },
    { kid: 'es-next', state: 'next', retired: false, sealed: 'sealed' },
    { kid: 'rs-current', state: 'previous', retired: true, sealed: 'sealed' },
    { kid: 'rs-next', state: 'expired', retired: false, sealed: null },
  ]);
  await t.rejects(insert('rs-current-2', 'RS256', 'current', '2025-07-01T00:00:00Z'), /signing_keys_one_current/, 'one current key over the whole table again');
  await t.rejects(insert('rs-next-3', 'RS256', 'next', '2025-07-01T00:00:00Z'), /signing_keys_one_next/);
  t.error((await through0009.migrateToLatest()).error, 'and up again');
  const current = await sql<{ kid: string; in_use: boolean }>`select kid, in_use_at is not null as in_use from signing_keys where state = 'current'`.execute(db);
  t.same(current.rows, [{ kid: 'es-current', in_use: true }], 'the key signing at the migration counts as in use then');
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
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', now: () => clock.now };

  const rotated = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.equal(rotated.exitCode, 0);
  const next = /^published ([\w-]{43}) \(ES256\) as the next key; replicas switch to it by themselves at 2026-01-01T00:06:05\.000Z/.exec(rotated.output)?.[1];
  t.ok(next, rotated.output);
  t.match((await runKeysCommand(context, { name: 'rotate', alg: undefined })).output, `${next} (ES256) is already published and starts signing at 2026-01-01T00:06:05.000Z; nothing to do`);

  await Promise.all([a.refresh(), b.refresh()]);
  for (const r of [a, b]) {
    t.equal(r.signingKey().kid, first, 'the old key still signs');
    t.same(kids(r), [first, next], 'the next key is published');
    t.same(r.published().algorithms, ['ES256']);
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
    { kid: next, state: 'current', alg: 'ES256', activated_at: '2026-01-01T00:06:05.000Z', retired_at: null },
    { kid: first, state: 'expired', alg: 'ES256', retired_at: '2026-01-01T00:06:05.000Z', expired_at: String },
  ]);
  const text = (await runKeysCommand(context, { name: 'list', json: false })).output;
  t.match(text, new RegExp(`^state +alg +kid\\ncurrent +ES256 +${next} +signing since 2026-01-01T00:06:05.000Z\\nexpired +ES256 +${first} +left the JWKS`));
});

t.test('rotate when the next key is due switches at once', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const keys = await ring(t, db, encryptionKey, clock, { alg: 'RS256' });
  const first = keys.signingKey().kid;
  const context: KeysContext = { db, encryptionKey, policy, alg: 'RS256', now: () => clock.now };
  await runKeysCommand(context, { name: 'rotate', alg: 'RS256' });
  const next = Object.entries(await states(db)).find(([, state]) => state === 'next')?.[0];
  clock.now += policy.publishDelayMs;
  const switched = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.equal(switched.output, `${next} (RS256) signs now; ${first} stays in the JWKS until 2026-01-01T00:22:10.000Z\n`);
  await keys.refresh();
  t.equal(keys.signingKey().kid, next);
  t.equal(keys.signingKey().alg, 'RS256');
  t.match((await runKeysCommand(context, { name: 'list', json: false })).output, /previous +RS256 +\S+ +signed until 2026-01-01T00:06:05.000Z, in the JWKS until 2026-01-01T00:22:10.000Z/);
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

const THREE: readonly SigningAlg[] = ['ES256', 'RS256', 'EdDSA'];

/** A token signed with the ring's key of `alg`, and the kid jose verified it with against the JWKS the ring publishes. */
async function signAndVerify(keys: KeyRing, alg: SigningAlg): Promise<{ token: string; kid: string | undefined }> {
  const key = keys.signingKey(alg);
  const token = await new SignJWT({ sub: 'someone' }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
  const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(keys.published().body) as { keys: JWK[] }), { algorithms: [alg] });
  return { token, kid: protectedHeader.kid };
}

const keysOf = async (db: Db) =>
  (await db.selectFrom('signing_keys').select(['kid', 'alg', 'state']).orderBy('alg').orderBy('state').execute()).map((row) => `${row.alg} ${row.state}`);

t.test('ES256, RS256 and EdDSA together: published in one JWKS, each signing with its own key, rotated and revoked on its own', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const keys = await ring(t, db, encryptionKey, clock, { extraAlgs: ['RS256', 'EdDSA', 'ES256'] });
  t.same(keys.algorithms, ['ES256', 'RS256', 'EdDSA'], 'the primary first; a repeat of it is ignored');
  const jwks = keys.published().jwks.keys;
  t.same(jwks.map((key) => key.alg), ['ES256', 'EdDSA', 'RS256'], 'one current key per algorithm, the primary\'s first');
  t.equal(Buffer.from(jwks[2]!.n!, 'base64url').length, 256, 'the RSA key is 2048 bits');
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current', 'RS256 current']);

  const first = Object.fromEntries(THREE.map((alg) => [alg, keys.signingKey(alg)])) as Record<SigningAlg, ReturnType<KeyRing['signingKey']>>;
  t.equal(keys.signingKey(), first.ES256, 'without an algorithm: the primary\'s key');
  const tokens: Partial<Record<SigningAlg, string>> = {};
  for (const alg of THREE) {
    t.equal(first[alg].alg, alg);
    t.equal(jwks.find((key) => key.alg === alg)?.kid, first[alg].kid, `${alg}: the key it signs with is the published one`);
    const verified = await signAndVerify(keys, alg);
    t.equal(verified.kid, first[alg].kid, `${alg}: a token verifies with jose against the published JWKS`);
    tokens[alg] = verified.token;
  }
  await t.rejects(
    jwtVerify(tokens.RS256!, createLocalJWKSet(JSON.parse(keys.published().body) as { keys: JWK[] }), { algorithms: ['ES256'] }),
    { code: 'ERR_JOSE_ALG_NOT_ALLOWED' },
    'a verifier that accepts only ES256 refuses the RS256 token',
  );

  // RS256 rotates alone.
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', extraAlgs: ['RS256', 'EdDSA'], now: () => clock.now };
  const rotated = await runKeysCommand(context, { name: 'rotate', alg: 'RS256' });
  t.match(rotated.output, /^published [\w-]{43} \(RS256\) as the next key; replicas switch to it by themselves at 2026-01-01T00:06:05\.000Z/);
  t.equal(rotated.output.split('\n').length, 2, 'one line: RS256 only');
  clock.now += policy.publishDelayMs;
  await keys.refresh();
  const second = keys.signingKey('RS256');
  t.not(second.kid, first.RS256.kid, 'RS256 signs with its next key');
  t.equal(keys.signingKey(), first.ES256, 'ES256 still signs with its key');
  t.equal(keys.signingKey('EdDSA'), first.EdDSA, 'EdDSA too');
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current', 'RS256 current', 'RS256 previous']);
  t.same(kids(keys), [first.ES256.kid, first.EdDSA.kid, second.kid, first.RS256.kid], 'the current keys first, then the previous one');
  const { protectedHeader } = await jwtVerify(tokens.RS256!, createLocalJWKSet(JSON.parse(keys.published().body) as { keys: JWK[] }), { algorithms: ['RS256'] });
  t.equal(protectedHeader.kid, first.RS256.kid, 'a token of the previous RS256 key still verifies');
  const { token: bySecond } = await signAndVerify(keys, 'RS256');

  // The current RS256 key revoked: it leaves the JWKS, a new RS256 key signs, ES256 goes on.
  const revoked = await runKeysCommand(context, { name: 'revoke', kid: second.kid });
  t.equal(revoked.exitCode, 0, revoked.output);
  t.match(revoked.output, new RegExp(`^revoked ${second.kid} \\(was current\\).*\\n[\\w-]{43}, a new key, signs now`));
  await keys.refresh();
  const third = keys.signingKey('RS256');
  t.not(third.kid, second.kid);
  t.equal(third.alg, 'RS256');
  t.notOk(kids(keys).includes(second.kid), 'the revoked key left the JWKS');
  t.equal(keys.signingKey(), first.ES256, 'ES256 keeps signing with the same key');
  t.equal((await signAndVerify(keys, 'ES256')).kid, first.ES256.kid);
  t.equal((await signAndVerify(keys, 'RS256')).kid, third.kid);
  await t.rejects(
    jwtVerify(bySecond, createLocalJWKSet(JSON.parse(keys.published().body) as { keys: JWK[] }), { algorithms: ['RS256'] }),
    { code: 'ERR_JWKS_NO_MATCHING_KEY' },
    'a token of the revoked key no longer verifies',
  );

  // rotate without --alg: every algorithm of the set, in its order.
  const all = await runKeysCommand(context, { name: 'rotate', alg: undefined });
  t.equal(all.exitCode, 0);
  t.match(all.output, /^published [\w-]{43} \(ES256\) as the next key[^\n]*\npublished [\w-]{43} \(RS256\) as the next key[^\n]*\npublished [\w-]{43} \(EdDSA\) as the next key[^\n]*\n$/);
  t.same(await keysOf(db), ['ES256 current', 'ES256 next', 'EdDSA current', 'EdDSA next', 'RS256 current', 'RS256 next', 'RS256 previous', 'RS256 revoked']);

  // A replica whose set lacks an algorithm signs with none of its keys, and publishes them all the same.
  const esOnly = await ring(t, db, encryptionKey, clock);
  t.throws(
    () => esOnly.signingKey('RS256'),
    {
      code: 'signing_key_unavailable',
      status: 503,
      detail: 'This server cannot issue tokens right now; try again shortly',
      cause: { message: 'This replica keeps no RS256 signing key: its algorithms are ES256 (JWT_ALG and the ID token algorithms of the registered OIDC clients)' },
    },
  );
  t.throws(() => esOnly.signingKey('PS256' as SigningAlg), { code: 'signing_key_unavailable', cause: { message: /keeps no PS256 signing key/ } }, 'nor an algorithm roost has not');
  t.equal(esOnly.signingKey().kid, first.ES256.kid);
  await keys.refresh();
  t.equal(kids(keys).length, 7, 'three current, three next, a previous key');
  t.same(kids(esOnly), kids(keys), 'the same keys, in the same order: the same primary');
  t.equal(esOnly.published().etag, keys.published().etag);
});

t.test('two replicas racing on the first start: one current key per algorithm, and they agree', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const extraAlgs = ['RS256', 'EdDSA'] as const;
  const [a, b] = await Promise.all([ring(t, db, encryptionKey, clock, { extraAlgs }), ring(t, db, encryptionKey, clock, { extraAlgs })]);
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current', 'RS256 current'], 'no duplicate current key');
  for (const alg of THREE) t.equal(a.signingKey(alg).kid, b.signingKey(alg).kid, `${alg}: both sign with the same key`);
  t.equal(a.published().etag, b.published().etag, 'both publish the same bytes');
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: a.signingKey('RS256').kid }).sign(a.signingKey('RS256').privateKey);
  t.equal(decodeProtectedHeader(token).kid, b.signingKey('RS256').kid);
  await t.resolves(jwtVerify(token, createLocalJWKSet(JSON.parse(b.published().body) as { keys: JWK[] })), 'one replica\'s RS256 token verifies against the other\'s JWKS');

  // Each rotates on its own timer; they still agree, algorithm by algorithm.
  const context: KeysContext = { db, encryptionKey, policy, alg: 'ES256', extraAlgs, now: () => clock.now };
  await runKeysCommand(context, { name: 'rotate', alg: 'EdDSA' });
  clock.now += policy.publishDelayMs;
  await Promise.all([a.refresh(), b.refresh()]);
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current', 'EdDSA previous', 'RS256 current']);
  for (const alg of THREE) t.equal(a.signingKey(alg).kid, b.signingKey(alg).kid, `${alg}: still the same key after EdDSA rotated`);
  t.equal(a.published().etag, b.published().etag);
});

t.test('an algorithm removed from the set: left to the replicas still signing with it, retired once none does, gone once expired', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  // The old settings: ES256 access tokens, ID tokens in RS256 and EdDSA.
  const old = await ring(t, db, encryptionKey, clock, { extraAlgs: ['RS256', 'EdDSA'] });
  const before = Object.fromEntries(THREE.map((alg) => [alg, old.signingKey(alg).kid])) as Record<SigningAlg, string>;
  // A rolling deploy switches JWT_ALG to RS256 and drops EdDSA: the new replica signs access tokens with the RS256 key every JWKS already holds.
  const fresh = await ring(t, db, encryptionKey, clock, { alg: 'RS256' });
  t.equal(fresh.signingKey().kid, before.RS256);
  t.throws(() => fresh.signingKey('ES256'), { code: 'signing_key_unavailable' });
  t.equal(fresh.published().jwks.keys[0]?.kid, before.RS256, 'its JWKS leads with its own primary\'s current key');
  t.same(new Set(kids(fresh)), new Set(kids(old)), 'both publish the same keys');

  // Both run side by side for a quarter of an hour: the old one confirms its keys, the new one leaves them alone.
  for (let i = 0; i < 30; i++) {
    clock.now += 30_000;
    await old.refresh();
    await fresh.refresh();
  }
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current', 'RS256 current'], 'nothing retired, nothing made again');
  t.equal(old.signingKey().kid, before.ES256, 'the old replica still signs access tokens with ES256');
  t.equal(old.signingKey('EdDSA').kid, before.EdDSA);

  // The old replica is gone: once no one has confirmed them for abandonedAfterMs, the new one retires them.
  old.close();
  const confirmed = await db.withTables<{ signing_keys: { in_use_at: Date | null } }>().selectFrom('signing_keys').select('in_use_at').where('kid', '=', before.ES256).executeTakeFirstOrThrow();
  t.ok(confirmed.in_use_at && confirmed.in_use_at.getTime() > clock.now - 2 * MIN, 'confirmed within the last minutes');
  clock.now = confirmed.in_use_at!.getTime() + policy.abandonedAfterMs - 1;
  await fresh.refresh();
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current', 'RS256 current'], 'not a millisecond early');
  clock.now += 1;
  await fresh.refresh();
  t.same(await keysOf(db), ['ES256 previous', 'EdDSA previous', 'RS256 current'], 'retired');
  t.equal(kids(fresh)[0], before.RS256, 'its own current key first');
  t.same(new Set(kids(fresh)), new Set([before.RS256, before.ES256, before.EdDSA]), 'still published: tokens they signed may still be valid');
  clock.now += policy.previousWindowMs;
  await fresh.refresh();
  t.same(await keysOf(db), ['ES256 expired', 'EdDSA expired', 'RS256 current']);
  t.same(kids(fresh), [before.RS256], 'gone from the JWKS once expired');

  // A replica with the old settings coming back breaks nothing: it makes keys for its algorithms again.
  const back = await ring(t, db, encryptionKey, clock, { extraAlgs: ['RS256', 'EdDSA'] });
  t.equal(back.signingKey('RS256').kid, before.RS256);
  t.not(back.signingKey().kid, before.ES256);
  await fresh.refresh();
  t.same(kids(fresh), [before.RS256, back.signingKey().kid, back.signingKey('EdDSA').kid], 'and every replica publishes them');
});

t.test('a retirement loses to a confirmation made after the plan', async (t) => {
  const db = await freshDb(t);
  const encryptionKey = randomBytes(32);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const keys = await ring(t, db, encryptionKey, clock, { extraAlgs: ['EdDSA'] });
  const kid = keys.signingKey('EdDSA').kid;
  clock.now += 10 * MIN;
  await keys.refresh();
  // Planned from rows read before that confirmation: the key was unused since the start.
  t.equal(await retireKeys(db, kid, undefined, new Date(Date.UTC(2026, 0, 1, 0, 5)), new Date(clock.now)), false);
  t.same(await keysOf(db), ['ES256 current', 'EdDSA current']);
  t.equal(await retireKeys(db, kid, undefined, new Date(clock.now), new Date(clock.now)), true);
  t.same(await keysOf(db), ['ES256 current', 'EdDSA previous']);
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
