// The lifecycle's pure parts: which transition is due when, for each
// algorithm, what the JWKS publishes, and conditional GET matching.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { exportJWK, generateKeyPair } from 'jose';
import t from 'tap';
import YAML from 'yaml';
import { ifNoneMatchHits } from '../../src/http/conditional-get.js';
import { keyPolicy, planAlgorithm, planTransitions, publishKeys, type KeyRecord, type KeyState } from '../../src/keys/key-lifecycle.js';
import { generateSigningKey, SIGNING_ALGS, signingAlgorithms, type SigningAlg } from '../../src/keys/signing-keys.js';

const policy = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 0 });
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

const jwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
type Times = { published?: number; activated?: number; retired?: number; inUse?: number };
function key(kid: string, state: KeyState, times: Times = {}, alg = 'ES256'): KeyRecord {
  return {
    kid,
    alg,
    state,
    publicJwk: jwk as Record<string, unknown>,
    publishedAt: new Date(times.published ?? T0),
    activatedAt: times.activated === undefined ? null : new Date(times.activated),
    retiredAt: times.retired === undefined ? null : new Date(times.retired),
    inUseAt: times.inUse === undefined ? null : new Date(times.inUse),
  };
}

t.test('the policy: published max-age + refresh + leeway before signing; kept TTL + refresh + leeway after', async (t) => {
  t.same(policy, { publishDelayMs: 365_000, previousWindowMs: 965_000, rotationIntervalMs: undefined, confirmIntervalMs: 60_000, abandonedAfterMs: 185_000 });
  t.equal(keyPolicy({ jwksMaxAge: 0, keyRefreshInterval: 1, accessTokenTtl: 30, keyRotationInterval: 86400 }).rotationIntervalMs, 86_400_000);
  t.equal(keyPolicy({ jwksMaxAge: 0, keyRefreshInterval: 300, accessTokenTtl: 30, keyRotationInterval: 0 }).abandonedAfterMs, 480_000, 'longer with a longer refresh interval');
});

t.test('signingAlgorithms: the primary first, each once; nothing roost cannot sign with', async (t) => {
  t.same(signingAlgorithms('ES256'), ['ES256']);
  t.same(signingAlgorithms('ES256', []), ['ES256']);
  t.same(signingAlgorithms('ES256', ['RS256', 'EdDSA']), ['ES256', 'RS256', 'EdDSA']);
  t.same(signingAlgorithms('RS256', ['RS256', 'ES256', 'RS256']), ['RS256', 'ES256'], 'a repeat of the primary is ignored');
  t.throws(() => signingAlgorithms('ES256', ['HS256' as SigningAlg]), /HS256 is not a signing algorithm roost has \(ES256, EdDSA, RS256\)/);
  t.throws(() => signingAlgorithms('none' as SigningAlg), /none is not a signing algorithm/);
});

t.test('planTransitions: one algorithm', async (t) => {
  const rotating = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 86400 });
  const es = ['ES256'];
  /** A current key confirmed at `at`: no confirmation due in the case. */
  const signing = (kid: string, at: number, times: Times = {}) => key(kid, 'current', { activated: T0, inUse: at, ...times });
  const cases: Array<[string, KeyRecord[], number, typeof policy, unknown[]]> = [
    ['an empty database: create the first key', [], T0, policy, [{ kind: 'create-current', alg: 'ES256' }]],
    ['only revoked and expired keys: create one', [key('r', 'revoked'), key('e', 'expired')], T0, policy, [{ kind: 'create-current', alg: 'ES256' }]],
    ['a current key made current less than a minute ago: nothing', [key('a', 'current', { activated: T0 })], T0 + MIN - 1, policy, []],
    ['a current key a minute after it began signing: confirmed', [key('a', 'current', { activated: T0 })], T0 + MIN, policy, [{ kind: 'confirm', alg: 'ES256', kid: 'a' }]],
    ['a current key confirmed less than a minute ago: nothing', [key('a', 'current', { published: T0 - 1000 * MIN, activated: T0 - 1000 * MIN, inUse: T0 })], T0 + MIN - 1, policy, []],
    ['a current key confirmed a minute ago: again', [key('a', 'current', { published: T0 - 1000 * MIN, activated: T0 - 1000 * MIN, inUse: T0 })], T0 + MIN, policy, [{ kind: 'confirm', alg: 'ES256', kid: 'a' }]],
    ['next, not yet due', [signing('a', T0 + 365_000), key('b', 'next', { published: T0 })], T0 + 365_000 - 1, policy, []],
    ['next, due', [signing('a', T0), key('b', 'next', { published: T0 })], T0 + 365_000, policy, [{ kind: 'promote', alg: 'ES256', next: 'b', current: 'a' }]],
    ['next without a current key (it was removed): at once', [key('b', 'next', { published: T0 })], T0, policy, [{ kind: 'promote', alg: 'ES256', next: 'b', current: undefined }]],
    ['previous, tokens may still be valid', [signing('a', T0 + 965_000), key('p', 'previous', { retired: T0 })], T0 + 965_000 - 1, policy, []],
    ['previous, every token expired', [signing('a', T0 + 965_000), key('p', 'previous', { retired: T0 })], T0 + 965_000, policy, [{ kind: 'expire', alg: 'ES256', kid: 'p' }]],
    [
      'promotion and expiry together',
      [signing('a', T0), key('b', 'next', { published: T0 }), key('p', 'previous', { retired: T0 - 2000 * MIN }), key('q', 'previous', { retired: T0 })],
      T0 + 400_000,
      policy,
      [{ kind: 'promote', alg: 'ES256', next: 'b', current: 'a' }, { kind: 'expire', alg: 'ES256', kid: 'p' }],
    ],
    ['automatic rotation: not yet', [signing('a', T0 + 86_400_000)], T0 + 86_400_000 - 365_000 - 1, rotating, []],
    ['automatic rotation: publish the next key in time', [signing('a', T0 + 86_400_000)], T0 + 86_400_000 - 365_000, rotating, [{ kind: 'create-next', alg: 'ES256' }]],
    ['automatic rotation and a confirmation together', [key('a', 'current', { activated: T0 })], T0 + 86_400_000, rotating, [{ kind: 'create-next', alg: 'ES256' }, { kind: 'confirm', alg: 'ES256', kid: 'a' }]],
    ['automatic rotation counts from activation, not publication', [signing('a', T0, { published: T0 - 10 * 86_400_000 })], T0 + 1000, rotating, []],
    ['automatic rotation waits while a next key exists', [signing('a', T0, { activated: T0 - 10 * 86_400_000 }), key('b', 'next', { published: T0 })], T0, rotating, []],
    ['no automatic rotation without the setting', [signing('a', T0, { activated: T0 - 1000 * 86_400_000 })], T0, policy, []],
  ];
  for (const [name, keys, now, given, expected] of cases) t.same(planTransitions(keys, now, given, es), expected, name);
});

t.test('planTransitions: each algorithm of the set has a lifecycle of its own', async (t) => {
  const rotating = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 86400 });
  const all = ['ES256', 'RS256', 'EdDSA'];
  const at = (kid: string, alg: string, state: KeyState, times: Times = {}) => key(kid, state, { activated: T0, inUse: T0, ...times }, alg);
  const cases: Array<[string, KeyRecord[], number, typeof policy, string[], unknown[]]> = [
    [
      'an empty database: a current key per algorithm, in the set\'s order',
      [],
      T0,
      policy,
      all,
      [{ kind: 'create-current', alg: 'ES256' }, { kind: 'create-current', alg: 'RS256' }, { kind: 'create-current', alg: 'EdDSA' }],
    ],
    ['a repeat in the set counts once', [], T0, policy, ['RS256', 'RS256'], [{ kind: 'create-current', alg: 'RS256' }]],
    ['a key of another algorithm does not sign for a new one', [at('e', 'ES256', 'current')], T0, policy, ['ES256', 'RS256'], [{ kind: 'create-current', alg: 'RS256' }]],
    [
      'one algorithm\'s next key is due, the others\' are not',
      [at('e', 'ES256', 'current'), at('r', 'RS256', 'current'), at('r2', 'RS256', 'next', { published: T0 - 365_000 }), at('e2', 'ES256', 'next', { published: T0 - 1 })],
      T0,
      policy,
      all.slice(0, 2),
      [{ kind: 'promote', alg: 'RS256', next: 'r2', current: 'r' }],
    ],
    [
      'each algorithm rotates when its own key has signed for the interval',
      [at('e', 'ES256', 'current', { activated: T0 - 86_400_000 }), at('r', 'RS256', 'current', { activated: T0 - 1000 }), at('d', 'EdDSA', 'current', { activated: T0 - 86_400_000 })],
      T0,
      rotating,
      all,
      [{ kind: 'create-next', alg: 'ES256' }, { kind: 'create-next', alg: 'EdDSA' }],
    ],
    [
      'each confirms its own current key',
      [
        at('e', 'ES256', 'current', { published: T0 - 1000 * MIN, activated: T0 - 1000 * MIN, inUse: T0 - MIN }),
        at('r', 'RS256', 'current', { published: T0 - 1000 * MIN, activated: T0 - 1000 * MIN, inUse: T0 - MIN + 1 }),
      ],
      T0,
      policy,
      ['ES256', 'RS256'],
      [{ kind: 'confirm', alg: 'ES256', kid: 'e' }],
    ],
    [
      'a previous key expires whatever its algorithm',
      [at('e', 'ES256', 'current'), at('p', 'RS256', 'previous', { retired: T0 - 965_000 }), at('q', 'EdDSA', 'previous', { retired: T0 - 965_000 + 1 })],
      T0,
      policy,
      ['ES256'],
      [{ kind: 'expire', alg: 'RS256', kid: 'p' }],
    ],
  ];
  for (const [name, keys, now, given, algs, expected] of cases) t.same(planTransitions(keys, now, given, algs), expected, name);
});

t.test('planTransitions: an algorithm outside the set is left to the replicas that sign with it, then retired', async (t) => {
  const rotating = keyPolicy({ jwksMaxAge: 300, keyRefreshInterval: 5, accessTokenTtl: 900, keyRotationInterval: 86400 });
  const at = (kid: string, alg: string, state: KeyState, times: Times = {}) => key(kid, state, { published: T0 - 10 * 86_400_000, activated: T0, ...times }, alg);
  const rs = ['RS256'];
  const signing = at('r', 'RS256', 'current', { inUse: T0 + 1000 * MIN });
  const cases: Array<[string, KeyRecord[], number, typeof policy, unknown[]]> = [
    ['confirmed by another replica: not confirmed, not rotated, not retired', [signing, at('e', 'ES256', 'current', { activated: T0 - 86_400_000, inUse: T0 })], T0 + 185_000 - 1, rotating, []],
    ['its next key is due: not promoted', [signing, at('e', 'ES256', 'current', { inUse: T0 }), at('e2', 'ES256', 'next', { published: T0 - 365_000 })], T0, policy, []],
    [
      'unconfirmed for abandonedAfterMs: retired, with its next key',
      [signing, at('e', 'ES256', 'current', { inUse: T0 }), at('e2', 'ES256', 'next', { published: T0 - 365_000 })],
      T0 + 185_000,
      policy,
      [{ kind: 'retire', alg: 'ES256', current: 'e', next: 'e2' }],
    ],
    ['never confirmed: counted from its activation', [signing, at('e', 'ES256', 'current', { activated: T0 })], T0 + 185_000, policy, [{ kind: 'retire', alg: 'ES256', current: 'e', next: undefined }]],
    ['made current recently, confirmed long ago: not yet', [signing, at('e', 'ES256', 'current', { activated: T0, inUse: T0 - 1000 * MIN })], T0 + 185_000 - 1, policy, []],
    ['confirmed recently, made current long ago: not yet', [signing, at('e', 'ES256', 'current', { activated: T0 - 1000 * MIN, inUse: T0 })], T0 + 185_000 - 1, policy, []],
    ['a next key with no current key (published ahead): it waits', [signing, at('e2', 'ES256', 'next', { published: T0 - 1000 * MIN })], T0, policy, []],
    ['no key of it: nothing is made', [signing], T0, policy, []],
    [
      'its previous keys still expire',
      [signing, at('p', 'ES256', 'previous', { retired: T0 - 965_000 }), at('q', 'ES256', 'previous', { retired: T0 - 965_000 + 1 })],
      T0,
      policy,
      [{ kind: 'expire', alg: 'ES256', kid: 'p' }],
    ],
    [
      'the set\'s algorithms first, then the others by name',
      [at('d', 'EdDSA', 'current'), at('e', 'ES256', 'current')],
      T0 + 185_000,
      policy,
      [{ kind: 'create-current', alg: 'RS256' }, { kind: 'retire', alg: 'ES256', current: 'e', next: undefined }, { kind: 'retire', alg: 'EdDSA', current: 'd', next: undefined }],
    ],
  ];
  for (const [name, keys, now, given, expected] of cases) t.same(planTransitions(keys, now, given, rs), expected, name);

  t.same(planAlgorithm([at('e', 'ES256', 'current'), at('r', 'RS256', 'next')], 'RS256', T0, policy, true), [{ kind: 'promote', alg: 'RS256', next: 'r', current: undefined }], 'planAlgorithm looks only at its algorithm\'s keys');
  t.same(planAlgorithm([], 'EdDSA', T0, policy, false), [], 'nothing to do for an algorithm without keys outside the set');
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

t.test('publishKeys with several algorithms: the current keys first, the primary algorithm\'s before the others', async (t) => {
  const keys = [
    key('p-es', 'previous', { retired: T0 - 10 * MIN }, 'ES256'),
    key('n-rs', 'next', {}, 'RS256'),
    key('c-ed', 'current', {}, 'EdDSA'),
    key('p-rs', 'previous', { retired: T0 - MIN }, 'RS256'),
    key('n-es', 'next', {}, 'ES256'),
    key('c-rs', 'current', {}, 'RS256'),
    key('x-rs', 'revoked', {}, 'RS256'),
    key('c-es', 'current', {}, 'ES256'),
  ];
  const kidsOf = (published: ReturnType<typeof publishKeys>) => published.jwks.keys.map((k) => k.kid);
  const es = publishKeys(keys, 'ES256');
  t.same(kidsOf(es), ['c-es', 'c-ed', 'c-rs', 'n-es', 'n-rs', 'p-rs', 'p-es'], 'then the others by name, then next keys in the same order, then previous keys newest first');
  t.same(es.algorithms, ['ES256', 'EdDSA', 'RS256']);
  const rs = publishKeys(keys, 'RS256');
  t.same(kidsOf(rs), ['c-rs', 'c-es', 'c-ed', 'n-rs', 'n-es', 'p-rs', 'p-es'], 'a naive verifier taking the first key gets the primary algorithm\'s current key');
  t.same(rs.algorithms, ['RS256', 'ES256', 'EdDSA']);
  t.equal(publishKeys([...keys].reverse(), 'RS256').etag, rs.etag, 'the row order does not change the bytes or the ETag');
  t.not(es.etag, rs.etag, 'another primary, another order');
  t.same(kidsOf(publishKeys(keys)), ['c-es', 'c-ed', 'c-rs', 'n-es', 'n-rs', 'p-rs', 'p-es'], 'without a primary: by name (code units, as on every replica)');
  t.same(kidsOf(publishKeys(keys, 'PS256')), kidsOf(publishKeys(keys)), 'a primary without keys changes nothing');
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
