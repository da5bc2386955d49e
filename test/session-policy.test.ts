import t from 'tap';
import { hashRefreshToken, isWellFormedRefreshToken, newRefreshToken, nextRefreshToken, refreshChainKey } from '../src/refresh-tokens.js';
import { decideRefresh, type PresentedSession } from '../src/session-policy.js';

const NOW = Date.UTC(2026, 0, 1);
const times = { idleSeconds: 3600, graceSeconds: 10 };
const live: PresentedSession = {
  revokedAt: null,
  expiresAt: new Date(NOW + 1000),
  lastUsedAt: new Date(NOW - 1000),
  spentAt: null,
  childIsLive: false,
};

t.test('decideRefresh', async (t) => {
  const cases: Array<[string, Partial<PresentedSession>, string]> = [
    ['the live token rotates', {}, 'rotate'],
    ['a revoked session', { revokedAt: new Date(NOW - 1) }, 'revoked'],
    ['revoked wins over reuse', { revokedAt: new Date(NOW - 1), spentAt: new Date(NOW - 60_000) }, 'revoked'],
    ['past its absolute expiry', { expiresAt: new Date(NOW) }, 'expired'],
    ['idle exactly the idle time', { lastUsedAt: new Date(NOW - 3600_000) }, 'idle'],
    ['idle just under the idle time', { lastUsedAt: new Date(NOW - 3599_999) }, 'rotate'],
    ['a spent token within the grace window whose child is live', { spentAt: new Date(NOW - 10_000), childIsLive: true }, 'repeat'],
    ['a spent token just past the grace window', { spentAt: new Date(NOW - 10_001), childIsLive: true }, 'reuse'],
    ['a spent token whose child was rotated already', { spentAt: new Date(NOW - 1), childIsLive: false }, 'reuse'],
  ];
  for (const [name, change, expected] of cases) t.equal(decideRefresh({ ...live, ...change }, NOW, times), expected, name);
  t.equal(decideRefresh({ ...live, spentAt: new Date(NOW), childIsLive: true }, NOW, { ...times, graceSeconds: 0 }), 'repeat', 'grace 0 still covers the same instant');
  t.equal(decideRefresh({ ...live, spentAt: new Date(NOW - 1), childIsLive: true }, NOW, { ...times, graceSeconds: 0 }), 'reuse', 'grace 0');
});

t.test('refresh tokens', async (t) => {
  const token = newRefreshToken();
  t.ok(isWellFormedRefreshToken(token));
  t.not(newRefreshToken(), token, 'random');
  for (const bad of ['', 'a'.repeat(42), 'a'.repeat(44), `${'a'.repeat(42)}=`, `${'a'.repeat(42)}+`]) t.notOk(isWellFormedRefreshToken(bad), JSON.stringify(bad));
  // SHA-256 of "abc", base64url (FIPS 180-2 example).
  t.equal(hashRefreshToken('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  const key = refreshChainKey(Buffer.alloc(32, 1));
  const next = nextRefreshToken(key, token);
  t.ok(isWellFormedRefreshToken(next), 'a child has the shape of a token');
  t.equal(nextRefreshToken(key, token), next, 'derivation is repeatable');
  t.not(nextRefreshToken(refreshChainKey(Buffer.alloc(32, 2)), token), next, 'and depends on the key');
  t.not(nextRefreshToken(key, next), next);
});
