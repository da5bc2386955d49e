// The verified-token cache in front of the access-token verifier: a token
// presented again is not verified again, until its exp, a change of the key
// set or VERIFIED_TOKEN_CACHE_MS; an altered token never matches an entry.
import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { createAccessTokenVerifier, issueAccessToken, type AccessTokenVerifier } from '../../src/keys/access-tokens.js';
import { generateSigningKey, openSigningKey, type SigningKey } from '../../src/keys/signing-keys.js';
import { cacheVerifiedTokens, VERIFIED_TOKEN_CACHE_MS } from '../../src/sessions/verified-tokens.js';
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
const sealing = randomBytes(32);

async function newKey(): Promise<SigningKey> {
  const key = await generateSigningKey('ES256', sealing);
  return openSigningKey({ kid: key.kid, alg: key.alg, public_jwk: { ...key.publicJwk }, private_jwk_sealed: key.privateJwkSealed }, sealing);
}

/** The real verifier behind the cache, counting the tokens that reach it. */
function counted(keySet: () => { keys: readonly SigningKey['publicJwk'][] }) {
  const verify = createAccessTokenVerifier(keySet, settings);
  const calls = { count: 0 };
  const inner: AccessTokenVerifier = (token, nowMs) => {
    calls.count += 1;
    return verify(token, nowMs);
  };
  return { inner, calls };
}

const key = await newKey();
const keySet = { keys: [key.publicJwk] };
const issue = (nowMs = NOW, ttlSeconds = settings.ttlSeconds) => issueAccessToken(user, { ...settings, ttlSeconds }, key, nowMs, randomUUID());

t.test('a token presented again is verified once', async (t) => {
  const { inner, calls } = counted(() => keySet);
  const verify = cacheVerifiedTokens(inner, { keySet: () => keySet });
  const token = await issue();
  const first = await verify(token, NOW);
  const second = await verify(token, NOW + 1000);
  t.equal(calls.count, 1, 'the signature is checked once');
  t.same(second, first, 'the same claims');
  t.equal(second.sub, user.id);
  t.ok(Object.isFrozen(second), 'the shared claims cannot be changed by one request for the next');
  await verify(await issue(), NOW);
  t.equal(calls.count, 2, 'another token is verified');
});

t.test('an entry ends after VERIFIED_TOKEN_CACHE_MS whatever the exp', async (t) => {
  t.ok(VERIFIED_TOKEN_CACHE_MS < settings.ttlSeconds * 1000, 'the bound is shorter than a token lives');
  const { inner, calls } = counted(() => keySet);
  const verify = cacheVerifiedTokens(inner, { keySet: () => keySet });
  const token = await issue();
  await verify(token, NOW);
  await verify(token, NOW + VERIFIED_TOKEN_CACHE_MS - 1);
  t.equal(calls.count, 1, 'served from the cache just inside the bound');
  await verify(token, NOW + VERIFIED_TOKEN_CACHE_MS);
  t.equal(calls.count, 2, 'verified again at the bound');
  await verify(token, NOW + VERIFIED_TOKEN_CACHE_MS + 1);
  t.equal(calls.count, 2, 'and cached again from then');
});

t.test('an entry ends at the token’s exp: an expired token is refused, never served from the cache', async (t) => {
  const { inner, calls } = counted(() => keySet);
  const verify = cacheVerifiedTokens(inner, { keySet: () => keySet });
  // Lives 10 s, well inside the cache's own bound.
  const token = await issue(NOW, 10);
  await verify(token, NOW);
  await verify(token, NOW + 9_999);
  t.equal(calls.count, 1);
  await t.rejects(verify(token, NOW + 10_000), /exp/, 'refused from the second exp on (RFC 7519 §4.1.4)');
  await t.rejects(verify(token, NOW + 20_000), /exp/);
  t.equal(calls.count, 3, 'each later presentation reached the verifier');
});

t.test('an altered or forged token never hits the cache', async (t) => {
  const { inner, calls } = counted(() => keySet);
  const verify = cacheVerifiedTokens(inner, { keySet: () => keySet });
  const token = await issue();
  const claims = await verify(token, NOW);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const flip = (part: string) => `${part.slice(0, -2)}${part.at(-2) === 'A' ? 'B' : 'A'}${part.at(-1)}`;
  const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
  const altered = [
    `${flip(header)}.${payload}.${signature}`,
    `${header}.${flip(payload)}.${signature}`,
    `${header}.${payload}.${flip(signature)}`,
    `${header}.${forgedPayload}.${signature}`,
    `${token} `,
    `${header}.${payload}.`,
  ];
  for (const bad of altered) {
    const before = calls.count;
    await t.rejects(verify(bad, NOW + 1), `refused: ${bad.slice(-12)}`);
    t.equal(calls.count, before + 1, 'checked by the verifier, not answered from the cache');
  }
  const again = await verify(token, NOW + 2);
  t.equal(again.sub, user.id, 'the genuine token still verifies');
  t.equal(calls.count, 1 + altered.length, 'and still from the cache');
});

t.test('a failure is not remembered, and a token signed by a key not (or no longer) published fails at once', async (t) => {
  const other = await newKey();
  let current = { keys: [key.publicJwk, other.publicJwk] };
  const { inner, calls } = counted(() => current);
  const verify = cacheVerifiedTokens(inner, { keySet: () => current });
  const token = await issueAccessToken(user, settings, other, NOW, randomUUID());
  await verify(token, NOW);
  await verify(token, NOW + 1);
  t.equal(calls.count, 1);
  // The other key is revoked: the published set changes.
  current = { keys: [key.publicJwk] };
  await t.rejects(verify(token, NOW + 2), 'its tokens fail at once');
  await t.rejects(verify(token, NOW + 3));
  t.equal(calls.count, 3, 'each failure went to the verifier');
  // A new set object, even with the same keys, starts empty.
  const mine = await issue();
  await verify(mine, NOW);
  current = { keys: [key.publicJwk] };
  await verify(mine, NOW + 1);
  t.equal(calls.count, 5, 'a token verified under the old set is verified again under the new one');
});

t.test('the cache holds at most maxEntries tokens, the oldest dropped first', async (t) => {
  const { inner, calls } = counted(() => keySet);
  const verify = cacheVerifiedTokens(inner, { keySet: () => keySet, maxEntries: 3 });
  const tokens = await Promise.all([1, 2, 3, 4].map(() => issue()));
  for (const token of tokens) await verify(token, NOW);
  t.equal(calls.count, 4);
  await verify(tokens[3] as string, NOW + 1);
  await verify(tokens[1] as string, NOW + 1);
  t.equal(calls.count, 4, 'the newest three are held');
  await verify(tokens[0] as string, NOW + 1);
  t.equal(calls.count, 5, 'the oldest was dropped');
});

t.test('a clock that went back is not trusted with an earlier answer', async (t) => {
  const { inner, calls } = counted(() => keySet);
  const verify = cacheVerifiedTokens(inner, { keySet: () => keySet });
  const token = await issue(NOW);
  await verify(token, NOW + 5000);
  await verify(token, NOW + 4000);
  t.equal(calls.count, 2);
});
