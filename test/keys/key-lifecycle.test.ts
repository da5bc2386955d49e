// The lifecycle's pure parts: which transition is due when, what the JWKS
// publishes, and conditional GET matching.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { exportJWK, generateKeyPair } from 'jose';
import t from 'tap';
import YAML from 'yaml';
import { ifNoneMatchHits } from '../../src/http/conditional-get.js';
import { keyPolicy, planTransitions, publishKeys, type KeyRecord, type KeyState } from '../../src/keys/key-lifecycle.js';
import { generateSigningKey, SIGNING_ALGS } from '../../src/keys/signing-keys.js';

const policy = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 0 });
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

const jwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
function key(kid: string, state: KeyState, times: { published?: number; activated?: number; retired?: number } = {}): KeyRecord {
  return {
    kid,
    alg: 'ES256',
    state,
    publicJwk: jwk as Record<string, unknown>,
    publishedAt: new Date(times.published ?? T0),
    activatedAt: times.activated === undefined ? null : new Date(times.activated),
    retiredAt: times.retired === undefined ? null : new Date(times.retired),
  };
}

t.test('the policy: published max-age + refresh + leeway before signing; kept TTL + refresh + leeway after', async (t) => {
  t.same(policy, { publishDelayMs: 365_000, previousWindowMs: 965_000, rotationIntervalMs: undefined });
  t.equal(keyPolicy({ jwksMaxAge: 0, keyRefreshInterval: 1, accessTokenTtl: 30, keyRotationInterval: 86400 }).rotationIntervalMs, 86_400_000);
});

t.test('planTransitions', async (t) => {
  const rotating = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 86400 });
  const cases: Array<[string, KeyRecord[], number, typeof policy, unknown[]]> = [
    ['an empty database: create the first key', [], T0, policy, [{ kind: 'create-current' }]],
    ['only revoked and expired keys: create one', [key('r', 'revoked'), key('e', 'expired')], T0, policy, [{ kind: 'create-current' }]],
    ['a current key alone: nothing', [key('a', 'current', { activated: T0 })], T0 + 1000 * MIN, policy, []],
    ['next, not yet due', [key('a', 'current'), key('b', 'next', { published: T0 })], T0 + 365_000 - 1, policy, []],
    ['next, due', [key('a', 'current'), key('b', 'next', { published: T0 })], T0 + 365_000, policy, [{ kind: 'promote', next: 'b', current: 'a' }]],
    ['next without a current key (it was removed): at once', [key('b', 'next', { published: T0 })], T0, policy, [{ kind: 'promote', next: 'b', current: undefined }]],
    ['previous, tokens may still be valid', [key('a', 'current'), key('p', 'previous', { retired: T0 })], T0 + 965_000 - 1, policy, []],
    ['previous, every token expired', [key('a', 'current'), key('p', 'previous', { retired: T0 })], T0 + 965_000, policy, [{ kind: 'expire', kid: 'p' }]],
    [
      'promotion and expiry together',
      [key('a', 'current'), key('b', 'next', { published: T0 }), key('p', 'previous', { retired: T0 - 2000 * MIN }), key('q', 'previous', { retired: T0 })],
      T0 + 400_000,
      policy,
      [{ kind: 'promote', next: 'b', current: 'a' }, { kind: 'expire', kid: 'p' }],
    ],
    ['automatic rotation: not yet', [key('a', 'current', { activated: T0 })], T0 + 86_400_000 - 365_000 - 1, rotating, []],
    ['automatic rotation: publish the next key in time', [key('a', 'current', { activated: T0 })], T0 + 86_400_000 - 365_000, rotating, [{ kind: 'create-next' }]],
    ['automatic rotation counts from activation, not publication', [key('a', 'current', { published: T0 - 10 * 86_400_000, activated: T0 })], T0 + 1000, rotating, []],
    ['automatic rotation waits while a next key exists', [key('a', 'current', { activated: T0 - 10 * 86_400_000 }), key('b', 'next', { published: T0 })], T0, rotating, []],
    ['no automatic rotation without the setting', [key('a', 'current', { activated: T0 - 1000 * 86_400_000 })], T0, policy, []],
  ];
  for (const [name, keys, now, given, expected] of cases) t.same(planTransitions(keys, now, given), expected, name);
});

t.test('publishKeys: current first, then next, then previous newest first; nothing else', async (t) => {
  const keys = [
    key('p-old', 'previous', { retired: T0 - 10 * MIN }),
    key('e', 'expired'),
    key('n', 'next'),
    key('r', 'revoked'),
    key('p-new', 'previous', { retired: T0 - MIN }),
    key('c', 'current'),
  ];
  const published = publishKeys(keys);
  t.same(published.jwks.keys.map((k) => k.kid), ['c', 'n', 'p-new', 'p-old']);
  t.same(published.algorithms, ['ES256']);
  t.equal(published.body, JSON.stringify(published.jwks));
  t.same(Object.keys(published.jwks.keys[0]!), ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'], 'public members only, in a fixed order');
  t.match(published.etag, /^"[A-Za-z0-9_-]{32}"$/);
  t.equal(publishKeys([...keys].reverse()).etag, published.etag, 'the row order does not change the bytes or the ETag');
  t.not(publishKeys(keys.filter((k) => k.kid !== 'p-old')).etag, published.etag, 'another set, another ETag');

  const withPrivate = { ...key('c', 'current'), publicJwk: { ...jwk, d: 'private' } as Record<string, unknown> };
  t.notOk(publishKeys([withPrivate]).body.includes('private'), 'a private member in the stored JWK is never published');
  const mixed = publishKeys([{ ...key('n', 'next'), alg: 'EdDSA' }, key('c', 'current')]);
  t.same(mixed.algorithms, ['ES256', 'EdDSA'], 'the current key\'s algorithm first');
});

t.test('If-None-Match', async (t) => {
  const etag = '"abc"';
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, false],
    ['', false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x",W/"abc"', true],
    ['*', true],
    ['"abd"', false],
    ['abc', false],
    ['"ABC"', false],
    ['w/"abc"', false],
    [`"x", ${'"y", '.repeat(1000)}"abc"`, false],
  ];
  for (const [header, hit] of cases) t.equal(ifNoneMatchHits(header, etag), hit, String(header).slice(0, 40));
});

t.test('the published set of every algorithm matches the Jwks schema in openapi.yaml', async (t) => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...(YAML.parse(readFileSync('openapi.yaml', 'utf8')) as object), $id: 'spec' });
  const validate = ajv.compile({ $ref: 'spec#/components/schemas/Jwks' });
  const keys: KeyRecord[] = [];
  for (const alg of SIGNING_ALGS) {
    const made = await generateSigningKey(alg, Buffer.alloc(32));
    keys.push({ ...key(made.kid, keys.length === 0 ? 'current' : 'previous', { retired: T0 - keys.length }), alg, publicJwk: { ...made.publicJwk } });
  }
  const published = publishKeys(keys);
  t.equal(published.jwks.keys.length, 3);
  t.ok(validate(JSON.parse(published.body)), JSON.stringify(validate.errors));
  const broken = JSON.parse(published.body) as { keys: Array<Record<string, unknown>> };
  broken.keys[1]!.alg = 'HS256';
  t.notOk(validate(broken), 'a key with another alg does not match');
});
