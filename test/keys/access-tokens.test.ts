import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import t from 'tap';
import { toPublicJwk, type SigningKey } from '../../src/keys/signing-keys.js';
import { buildAccessClaims, createAccessTokenVerifier, signAccessToken } from '../../src/keys/access-tokens.js';
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
