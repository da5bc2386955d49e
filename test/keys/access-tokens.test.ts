import { KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import t from 'tap';
import { toPublicJwk, type PublicJwk, type SigningKey } from '../../src/keys/signing-keys.js';
import {
  buildAccessClaims,
  createAccessTokenVerifier,
  issueAccessToken,
  issueClientAccessToken,
  signAccessToken,
  type TokenSettings,
} from '../../src/keys/access-tokens.js';
import type { User } from '../../src/users/profiles.js';

const user: User = {
  id: '6f1c9d8e-1111-4222-8333-944445555666',
  twitter_id: '1240000000000000001',
  screen_name: 'alice',
  name: 'Alice',
  picture: null,
  email: null,
  created_at: new Date(0),
  updated_at: new Date(0),
};
const settings = { issuer: 'https://auth.example.com', audience: 'api', ttlSeconds: 900 };
const NOW = Date.UTC(2026, 0, 1);

async function newKey(kid = 'k1'): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, alg: 'ES256', privateKey, publicJwk: toPublicJwk(await exportJWK(privateKey), kid, 'ES256') };
}

t.test('claims', async (t) => {
  const claims = buildAccessClaims(user, settings, NOW + 999, 'jti-1');
  t.same(claims, {
    iss: 'https://auth.example.com',
    sub: user.id,
    aud: 'api',
    iat: NOW / 1000,
    exp: NOW / 1000 + 900,
    jti: 'jti-1',
    screen_name: 'alice',
    name: 'Alice',
    picture: null,
    twitter_id: '1240000000000000001',
  });
  t.notOk('aud' in buildAccessClaims(user, { ...settings, audience: undefined }, NOW, 'j'), 'no aud without JWT_AUDIENCE');
});

t.test('the public JWK is picked, never the private part', async (t) => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  t.ok(jwk.d, 'the private JWK has d');
  const pub = toPublicJwk(jwk, 'kid', 'ES256');
  t.same(Object.keys(pub).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  t.throws(() => toPublicJwk({}, 'kid', 'ES256'));
});

t.test('verification', async (t) => {
  const key = await newKey();
  const verify = createAccessTokenVerifier({ keys: [key.publicJwk] }, settings);
  const token = await signAccessToken(buildAccessClaims(user, settings, NOW, 'j'), key);
  const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
  t.same(header, { alg: 'ES256', kid: 'k1', typ: 'at+jwt' });
  t.equal((await verify(token, NOW + 1000)).sub, user.id);

  await t.rejects(verify(token, NOW + 901_000), { code: 'ERR_JWT_EXPIRED' }, 'expired');
  await t.rejects(createAccessTokenVerifier({ keys: [key.publicJwk] }, { ...settings, audience: 'other' })(token, NOW), 'wrong audience');
  await t.rejects(createAccessTokenVerifier({ keys: [key.publicJwk] }, { ...settings, issuer: 'https://x' })(token, NOW), 'wrong issuer');

  const other = await newKey('k1');
  const forged = await signAccessToken(buildAccessClaims(user, settings, NOW, 'j'), other);
  await t.rejects(verify(forged, NOW), 'signed by another key with the same kid');

  const [h, p, s] = token.split('.') as [string, string, string];
  const tampered = Buffer.from(p, 'base64url').toString().replace(user.id, '00000000-0000-4000-8000-000000000000');
  await t.rejects(verify(`${h}.${Buffer.from(tampered).toString('base64url')}.${s}`, NOW), 'tampered claims');

  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
  await t.rejects(verify(none, NOW), 'alg none');

  const untyped = await new SignJWT(buildAccessClaims(user, settings, NOW, 'j')).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(key.privateKey as CryptoKey);
  await t.rejects(verify(untyped, NOW), 'a JWT without typ at+jwt');
});

// ---------------------------------------------------------------- node:crypto's verifier against jose's

const SIGNING = ['ES256', 'RS256', 'EdDSA'] as const;

async function keyOf(alg: (typeof SIGNING)[number], kid: string): Promise<SigningKey> {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
  const { privateKey } = await generateKeyPair(alg, options);
  return { kid, alg, privateKey, publicJwk: toPublicJwk(await exportJWK(privateKey), kid, alg) };
}

/** The verifier as it was written with jose: the reference the node:crypto one must match or be stricter than. */
function joseVerifier(keys: readonly SigningKey[], tokenSettings: TokenSettings) {
  const keySet = createLocalJWKSet({ keys: keys.map((key) => ({ ...key.publicJwk })) });
  return (token: string, nowMs: number) =>
    jwtVerify(token, keySet, {
      algorithms: [...new Set(keys.map((key) => key.alg))],
      issuer: tokenSettings.issuer,
      ...(tokenSettings.audience !== undefined ? { audience: tokenSettings.audience } : {}),
      typ: 'at+jwt',
      currentDate: new Date(nowMs),
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    }).then(({ payload }) => payload);
}

/** A token signed by hand: any header and claims, with `key`'s own algorithm. */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: SigningKey): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const keyObject = KeyObject.from(key.privateKey as unknown as Parameters<typeof KeyObject.from>[0]);
  const data = Buffer.from(input);
  const signature =
    key.alg === 'ES256' ? sign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }) : sign(key.alg === 'RS256' ? 'sha256' : null, data, keyObject);
  return `${input}.${signature.toString('base64url')}`;
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

const keyring = await Promise.all(SIGNING.map((alg) => keyOf(alg, `kid-${alg}`)));
const [es, rs, ed] = keyring as [SigningKey, SigningKey, SigningKey];
const jwks = { keys: keyring.map((key) => key.publicJwk) };
const ours = createAccessTokenVerifier(jwks, settings);
const theirs = joseVerifier(keyring, settings);
const good = (overrides: Record<string, unknown> = {}) => ({ ...buildAccessClaims(user, settings, NOW, 'j-1', 'sid-1'), ...overrides });
const header = (overrides: Record<string, unknown> = {}) => ({ alg: 'ES256', kid: es.kid, typ: 'at+jwt', ...overrides });
const IAT = NOW / 1000;

t.test('every algorithm: roost\'s access tokens verify with jose, jose\'s with roost', async (t) => {
  for (const key of keyring) {
    const claims = buildAccessClaims({ ...user, email: 'a@example.com', picture: 'https://pbs.twimg.com/p.jpg' }, settings, NOW, 'j', 'sid', { tier: 'gold', roles: ['a', 'b'] });
    const token = await signAccessToken(claims, key);
    const reference = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
    t.same(token.split('.').slice(0, 2), reference.split('.').slice(0, 2), `${key.alg}: the same header and payload bytes as jose's`);
    t.same(await theirs(token, NOW), claims, `${key.alg}: jose verifies roost's`);
    t.same(await ours(reference, NOW), claims, `${key.alg}: roost verifies jose's`);
    t.same(await ours(token, NOW + 899_999), claims, `${key.alg}: until the last second`);
    t.same(Object.keys(await ours(token, NOW)), Object.keys(claims), 'the claims come back in their order');

    const client = await issueClientAccessToken('u-1', { ...settings, audience: 'https://auth.example.com/userinfo' }, key, NOW, { sid: 's', clientId: 'web', scope: 'openid' });
    const atUserinfo = createAccessTokenVerifier(jwks, { ...settings, audience: 'https://auth.example.com/userinfo' });
    t.match(await atUserinfo(client, NOW), { sub: 'u-1', client_id: 'web', scope: 'openid', sid: 's' }, `${key.alg}: a client's access token`);
    t.match(await joseVerifier(keyring, { ...settings, audience: 'https://auth.example.com/userinfo' })(client, NOW), { client_id: 'web' });
    const issued = await issueAccessToken(user, settings, key, NOW, 'sid-2');
    t.equal((await ours(issued, NOW)).sid, 'sid-2');
  }
});

t.test('the claims: each rule refuses, with jose\'s codes', async (t) => {
  const rejected: Array<[string, Record<string, unknown>, Record<string, unknown>, number, string]> = [
    ['exp in the past', header(), good(), NOW + 901_000, 'ERR_JWT_EXPIRED'],
    ['exp now', header(), good(), NOW + 900_000, 'ERR_JWT_EXPIRED'],
    ['nbf in the future', header(), good({ nbf: IAT + 1 }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['nbf not a number', header(), good({ nbf: String(IAT) }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another issuer', header(), good({ iss: 'https://auth.example.com/' }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another audience', header(), good({ aud: 'apis' }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an audience array without ours', header(), good({ aud: ['other', 'API'] }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an audience object', header(), good({ aud: { api: true } }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no iss', header(), good({ iss: undefined }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no aud', header(), good({ aud: undefined }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no sub', header(), good({ sub: undefined }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no jti', header(), good({ jti: undefined }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no iat', header(), good({ iat: undefined }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no exp', header(), good({ exp: undefined }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['iat not a number', header(), good({ iat: String(IAT) }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['exp not a number', header(), good({ exp: String(IAT + 900) }), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no typ', header({ typ: undefined }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['typ JWT', header({ typ: 'JWT' }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['typ application/jwt', header({ typ: 'application/jwt' }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['typ text/at+jwt', header({ typ: 'text/at+jwt' }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['typ at+jwt with a parameter', header({ typ: 'at+jwt;q=1' }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['typ in an array', header({ typ: ['at+jwt'] }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['typ at+JWT+ext', header({ typ: 'at+jwt+ext' }), good(), NOW, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
  ];
  for (const [what, h, claims, now, code] of rejected) {
    const token = forge(h, claims, es);
    await t.rejects(ours(token, now), { code }, what);
    t.notOk((await settle(theirs(token, now))).ok, `jose refuses ${what} too`);
  }
  const accepted: Array<[string, Record<string, unknown>, Record<string, unknown>, number]> = [
    ['nbf now', header(), good({ nbf: IAT }), NOW + 999],
    ['nbf in the past', header(), good({ nbf: IAT - 60 }), NOW],
    ['an audience array with ours', header(), good({ aud: ['other', 'api'] }), NOW],
    ['typ in capitals', header({ typ: 'AT+JWT' }), good(), NOW],
    ['typ as a media type', header({ typ: 'application/at+jwt' }), good(), NOW],
    ['typ as a media type, mixed case', header({ typ: 'Application/At+Jwt' }), good(), NOW],
    ['iat in the future (jose checks iat only against a maximum age)', header(), good({ iat: IAT + 3600 }), NOW],
    ['no sid (bearer.ts and /userinfo decide about sid)', header(), good({ sid: undefined }), NOW],
    ['no kid: the one ES256 key', header({ kid: undefined }), good(), NOW],
  ];
  for (const [what, h, claims, now] of accepted) {
    const token = forge(h, claims, es);
    t.equal((await ours(token, now)).sub, user.id, what);
    t.ok((await settle(theirs(token, now))).ok, `jose accepts ${what} too`);
  }
  const withoutAudience = createAccessTokenVerifier(jwks, { ...settings, audience: undefined });
  t.equal((await withoutAudience(forge(header(), good({ aud: undefined }), es), NOW)).sub, user.id, 'no aud needed when JWT_AUDIENCE is unset');
  t.equal((await withoutAudience(forge(header(), good({ aud: 'anything' }), es), NOW)).sub, user.id, 'and any aud is then taken, as jose takes it');
  await t.rejects(ours(forge(header(), good(), es), Number.NaN), TypeError, 'a clock that is not a number');
});

t.test('stricter than jose where roost\'s own tokens cannot differ', async (t) => {
  const stricter: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['sub not a string', header(), good({ sub: 42 })],
    ['jti not a string', header(), good({ jti: { id: 1 } })],
    ['b64: true without crit', header({ b64: true }), good()],
    ['b64: false without crit', header({ b64: false }), good()],
    ['crit b64 with b64: true', header({ b64: true, crit: ['b64'] }), good()],
  ];
  for (const [what, h, claims] of stricter) {
    const token = forge(h, claims, es);
    t.ok((await settle(theirs(token, NOW))).ok, `jose accepts ${what}`);
    await t.rejects(ours(token, NOW), what);
  }
  // 1e400 is Infinity to JSON.parse: jose takes it as an exp that never comes.
  const input = `${Buffer.from(JSON.stringify(header())).toString('base64url')}.${Buffer.from(JSON.stringify(good()).replace(/"exp":\d+/, '"exp":1e400')).toString('base64url')}`;
  const forever = `${input}.${sign('sha256', Buffer.from(input), { key: KeyObject.from(es.privateKey as unknown as Parameters<typeof KeyObject.from>[0]), dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  t.ok((await settle(theirs(forever, NOW))).ok, 'jose accepts exp 1e400');
  await t.rejects(ours(forever, NOW), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }, 'roost does not');
});

t.test('headers and claims at random: roost decides as jose does', async (t) => {
  // A valid token, then up to three members of its header or claims replaced or removed.
  const DROP = Symbol('drop');
  const time = [IAT - 1, IAT, IAT + 1, IAT + 899, IAT + 900, IAT + 901, '1767225600', null, DROP];
  const headerEdits: Record<string, readonly unknown[]> = {
    alg: ['ES256', 'RS256', 'EdDSA', 'HS256', 'none', 'PS256', DROP],
    kid: [es.kid, rs.kid, ed.kid, 'other', 7, DROP],
    typ: ['at+jwt', 'AT+JWT', 'application/at+jwt', 'APPLICATION/AT+JWT', 'JWT', 'jwt', 'application/jwt', 'at+jwt ', 'application/at+jwt+x', 0, DROP],
    crit: [['exp'], [], 'b64', ['b64', 'b64']],
    zip: ['DEF'],
    cty: ['JWT', 'json'],
  };
  const claimEdits: Record<string, readonly unknown[]> = {
    iss: [settings.issuer, 'https://other.example.com', settings.issuer.toUpperCase(), null, DROP],
    aud: ['api', ['x', 'api'], ['x'], 'API', [], null, DROP],
    sub: [user.id, '', DROP],
    jti: ['j-1', '', DROP],
    iat: time,
    exp: time,
    nbf: time,
    sid: ['s', DROP],
  };
  const edit = (edits: Record<string, readonly unknown[]>) =>
    fc.constantFrom(...Object.keys(edits)).chain((member) => fc.constantFrom(...(edits[member] as unknown[])).map((value) => [member, value] as const));
  const apply = (base: Record<string, unknown>, edits: ReadonlyArray<readonly [string, unknown]>) => {
    const result = { ...base };
    for (const [member, value] of edits) {
      if (value === DROP) delete result[member];
      else result[member] = value;
    }
    return result;
  };
  const signers = fc.constantFrom(es, es, rs, ed);
  const clock = fc.constantFrom(NOW - 1000, NOW, NOW + 500, NOW + 899_999, NOW + 900_000);
  const decided = { accepted: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.array(edit(headerEdits), { maxLength: 2 }),
      fc.array(edit(claimEdits), { maxLength: 2 }),
      signers,
      clock,
      async (headerChanges, claimChanges, key, now) => {
        const token = forge(apply({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }, headerChanges), apply(good(), claimChanges), key);
        const [mine, reference] = await Promise.all([settle(ours(token, now)), settle(theirs(token, now))]);
        decided[mine.ok ? 'accepted' : 'refused'] += 1;
        if (mine.ok !== reference.ok) return false;
        return !mine.ok || !reference.ok || JSON.stringify(mine.value) === JSON.stringify(reference.value);
      },
    ),
    { numRuns: 1500 },
  );
  t.ok(decided.accepted > 100 && decided.refused > 100, `both accepted ${decided.accepted} and refused ${decided.refused}`);
});

t.test('the verifier follows the key set it is given, importing it again only when the set changes', async (t) => {
  const next = await keyOf('ES256', 'next');
  const tokenOfNext = await signAccessToken(good(), next);
  const first = { keys: [es.publicJwk] as PublicJwk[] };
  let current: { keys: readonly PublicJwk[] } = first;
  const verify = createAccessTokenVerifier(() => current, settings);
  t.ok(await verify(forge(header(), good(), es), NOW), 'the published key');
  await t.rejects(verify(tokenOfNext, NOW), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'a key not yet published');
  first.keys.push(next.publicJwk);
  await t.rejects(verify(tokenOfNext, NOW), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'the same set object is not read again');
  current = { keys: [es.publicJwk, next.publicJwk] };
  t.ok(await verify(tokenOfNext, NOW), 'a new set: the next key verifies');
  current = { keys: [next.publicJwk] };
  await t.rejects(verify(forge(header(), good(), es), NOW), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'a key that left the set no longer verifies');
  t.ok(await verify(tokenOfNext, NOW));
  current = { keys: [] };
  await t.rejects(verify(tokenOfNext, NOW), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' }, 'an empty set verifies nothing');
});
