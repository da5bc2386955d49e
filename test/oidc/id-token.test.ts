import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet } from 'jose';
import { ID_TOKEN_ALGS, type IdTokenAlg } from '../../src/oidc/clients.js';
import { OIDC_CLAIMS, atHash, buildIdTokenClaims, userinfoClaims, type IdTokenInput, type OidcUser } from '../../src/oidc/id-token.js';

const USER: OidcUser = { id: 'u-1', screen_name: 'jack', name: 'Jack D.', picture: 'https://pbs.twimg.com/profile_images/1/a.jpg', email: 'jack@example.com' };
const NOW_MS = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z
const INPUT: IdTokenInput = {
  issuer: 'https://id.example.com',
  user: USER,
  clientId: 'web',
  nonce: 'n-0S6_WzA2Mj',
  authTimeMs: NOW_MS - 5_999,
  sid: 'sess-1',
  accessToken: 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y',
  alg: 'RS256',
  scopes: ['openid', 'profile', 'email'],
  nowMs: NOW_MS,
  ttlSeconds: 300,
};

t.test('at_hash: the published examples', async (t) => {
  // OIDC Core 1.0 Appendix A.3: an RS256 ID token beside this access token carries this at_hash.
  t.equal(atHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y', 'RS256'), '77QmUPtjPfzWtF2AnpK9RQ');
  // ES256 hashes with SHA-256 too (§3.1.3.6: "the hash algorithm used in the alg").
  t.equal(atHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y', 'ES256'), '77QmUPtjPfzWtF2AnpK9RQ');
  // The same token under SHA-256 and under SHA-512 (EdDSA with Ed25519), as
  // FusionAuth's fusionauth-jwt tests and Ping Identity's documentation give them.
  t.equal(atHash('dNZX1hEZ9wBCzNL40Upu646bdzQA', 'RS256'), 'wfgvmE9VxjAudsl9lc6TqA');
  t.equal(atHash('dNZX1hEZ9wBCzNL40Upu646bdzQA', 'EdDSA'), '8xltSlOGYrWy8W9yNvRlEth1i_bXW-JROWPLvCv5zog');
});

t.test('at_hash: the left half of the digest, computed as oauth4webapi (openid-client 6) computes it', async (t) => {
  // oauth4webapi's idTokenHash: crypto.subtle.digest of the token's bytes with SHA-256 for
  // RS256/ES256 and SHA-512 for EdDSA, then the first half, base64url.
  const digestFor: Record<IdTokenAlg, string> = { RS256: 'SHA-256', ES256: 'SHA-256', EdDSA: 'SHA-512' };
  for (let round = 0; round < 20; round += 1) {
    const token = randomBytes(32 + round).toString('base64url');
    for (const alg of ID_TOKEN_ALGS) {
      const digest = new Uint8Array(await crypto.subtle.digest(digestFor[alg], new TextEncoder().encode(token)));
      t.equal(atHash(token, alg), Buffer.from(digest.slice(0, digest.byteLength / 2)).toString('base64url'), `${alg} #${round}`);
    }
  }
  t.equal(atHash('x', 'RS256').length, 22, '128 bits');
  t.equal(atHash('x', 'EdDSA').length, 43, '256 bits');
  t.not(atHash('a', 'RS256'), atHash('b', 'RS256'));
});

t.test('the ID token claims, in full', async (t) => {
  t.strictSame(buildIdTokenClaims(INPUT), {
    iss: 'https://id.example.com',
    sub: 'u-1',
    aud: 'web',
    exp: 1_767_225_900,
    iat: 1_767_225_600,
    auth_time: 1_767_225_594,
    nonce: 'n-0S6_WzA2Mj',
    sid: 'sess-1',
    at_hash: '77QmUPtjPfzWtF2AnpK9RQ',
    name: 'Jack D.',
    preferred_username: 'jack',
    picture: 'https://pbs.twimg.com/profile_images/1/a.jpg',
    profile: 'https://x.com/jack',
    email: 'jack@example.com',
    email_verified: true,
  });
});

t.test('openid alone: who and when, nothing of the profile', async (t) => {
  t.strictSame(buildIdTokenClaims({ ...INPUT, scopes: ['openid'], nonce: undefined, accessToken: undefined }), {
    iss: 'https://id.example.com',
    sub: 'u-1',
    aud: 'web',
    exp: 1_767_225_900,
    iat: 1_767_225_600,
    auth_time: 1_767_225_594,
    sid: 'sess-1',
  });
});

t.test('each scope brings its claims; a missing value leaves its claim out, never null', async (t) => {
  const claimNames = (input: Partial<IdTokenInput>) => Object.keys(buildIdTokenClaims({ ...INPUT, ...input }));
  const base = ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'at_hash'];
  t.same(claimNames({ scopes: ['openid', 'offline_access'] }), base);
  t.same(claimNames({ scopes: ['openid', 'profile'] }), [...base, 'name', 'preferred_username', 'picture', 'profile']);
  t.same(claimNames({ scopes: ['openid', 'email'] }), [...base, 'email', 'email_verified']);
  t.same(claimNames({ user: { ...USER, picture: null } }), [...base, 'name', 'preferred_username', 'profile', 'email', 'email_verified']);
  t.same(claimNames({ user: { ...USER, email: null } }), [...base, 'name', 'preferred_username', 'picture', 'profile']);
  t.notOk(Object.values(buildIdTokenClaims({ ...INPUT, user: { ...USER, email: null, picture: null } })).includes(null));
});

t.test('at_hash follows the alg', async (t) => {
  t.equal(buildIdTokenClaims({ ...INPUT, alg: 'ES256' }).at_hash, '77QmUPtjPfzWtF2AnpK9RQ');
  t.equal(buildIdTokenClaims({ ...INPUT, alg: 'EdDSA' }).at_hash, atHash(INPUT.accessToken!, 'EdDSA'));
  t.equal(buildIdTokenClaims({ ...INPUT, alg: 'EdDSA' }).at_hash?.length, 43);
});

t.test('times are whole seconds, rounded down', async (t) => {
  const claims = buildIdTokenClaims({ ...INPUT, nowMs: 1_999, authTimeMs: 999, ttlSeconds: 60 });
  t.same([claims.iat, claims.exp, claims.auth_time], [1, 61, 0]);
});

t.test('the profile URL is the handle on x.com, encoded', async (t) => {
  t.equal(buildIdTokenClaims({ ...INPUT, user: { ...USER, screen_name: 'a/b?c' } }).profile, 'https://x.com/a%2Fb%3Fc');
});

t.test('UserInfo: sub always, the rest by scope (OIDC Core §5.3.2)', async (t) => {
  t.strictSame(userinfoClaims(USER, ['openid']), { sub: 'u-1' });
  t.strictSame(userinfoClaims(USER, ['openid', 'profile', 'email', 'offline_access']), {
    sub: 'u-1',
    name: 'Jack D.',
    preferred_username: 'jack',
    picture: 'https://pbs.twimg.com/profile_images/1/a.jpg',
    profile: 'https://x.com/jack',
    email: 'jack@example.com',
    email_verified: true,
  });
  t.strictSame(userinfoClaims({ ...USER, email: null }, ['openid', 'email']), { sub: 'u-1' });
});

t.test('every claim built is one discovery lists', async (t) => {
  const all = new Set<string>([...Object.keys(buildIdTokenClaims({ ...INPUT, scopes: ['openid', 'profile', 'email', 'offline_access'] })), ...Object.keys(userinfoClaims(USER, ['openid', 'profile', 'email']))]);
  t.same([...all].sort(), [...OIDC_CLAIMS].sort());
});

t.test('signed with each algorithm, the claims verify with jose as a client would verify them', async (t) => {
  const options: Record<IdTokenAlg, Parameters<typeof generateKeyPair>[1]> = { RS256: { modulusLength: 2048, extractable: true }, ES256: { extractable: true }, EdDSA: { crv: 'Ed25519', extractable: true } };
  for (const alg of ID_TOKEN_ALGS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, options[alg]);
    const claims = buildIdTokenClaims({ ...INPUT, alg, nowMs: Date.now(), authTimeMs: Date.now() });
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg, kid: 'k1' }).sign(privateKey);
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg }] });
    const { payload } = await jwtVerify(token, jwks, { issuer: 'https://id.example.com', audience: 'web', algorithms: [alg], requiredClaims: ['sub', 'iat', 'exp', 'auth_time', 'nonce', 'sid', 'at_hash'] });
    t.equal(payload.nonce, 'n-0S6_WzA2Mj', alg);
    t.equal(decodeProtectedHeader(token).alg, alg);
    t.equal(payload.at_hash, atHash(INPUT.accessToken!, alg), `${alg}: at_hash matches the header's alg`);
    await t.rejects(jwtVerify(token, jwks, { issuer: 'https://id.example.com', audience: 'other', algorithms: [alg] }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }, `${alg}: aud is the client`);
  }
});
