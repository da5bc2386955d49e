import fc from 'fast-check';
import t from 'tap';
import { hashRefreshToken, isWellFormedRefreshToken, legacyChainKey, legacyNextRefreshToken, newRefreshToken, nextRefreshToken, refreshFamily } from '../../../src/sessions/refresh-tokens.js';
import { decideRefresh, isPurgeable, purgeCutoffs, sessionEndsAt, type PresentedSession, type PurgeCutoffs, type SessionLifetime } from '../../../src/sessions/policy.js';

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
    ['a token of the session older than the spent tokens kept', { spentAt: 'forgotten' }, 'reuse'],
    ['revoked wins over a forgotten token', { revokedAt: new Date(NOW - 1), spentAt: 'forgotten' }, 'revoked'],
    ['expiry wins over a forgotten token', { expiresAt: new Date(NOW), spentAt: 'forgotten' }, 'expired'],
  ];
  for (const [name, change, expected] of cases) t.equal(decideRefresh({ ...live, ...change }, NOW, times), expected, name);
  t.equal(decideRefresh({ ...live, spentAt: new Date(NOW), childIsLive: true }, NOW, { ...times, graceSeconds: 0 }), 'repeat', 'grace 0 still covers the same instant');
  t.equal(decideRefresh({ ...live, spentAt: new Date(NOW - 1), childIsLive: true }, NOW, { ...times, graceSeconds: 0 }), 'reuse', 'grace 0');
});

t.test('sessionEndsAt: the first of revocation, absolute expiry and idle expiry', async (t) => {
  const idleSeconds = 3600;
  const session: SessionLifetime = { revokedAt: null, expiresAt: new Date(NOW + 86_400_000), lastUsedAt: new Date(NOW) };
  t.equal(sessionEndsAt(session, idleSeconds), NOW + 3600_000, 'idle expiry first');
  t.equal(sessionEndsAt({ ...session, expiresAt: new Date(NOW + 60_000) }, idleSeconds), NOW + 60_000, 'absolute expiry first');
  t.equal(sessionEndsAt({ ...session, revokedAt: new Date(NOW - 5) }, idleSeconds), NOW - 5, 'revoked');
  t.equal(sessionEndsAt({ ...session, expiresAt: new Date(NOW - 10), revokedAt: new Date(NOW - 5) }, idleSeconds), NOW - 10, 'a revocation after the end changes nothing');
  // The same instants decideRefresh calls expired and idle.
  const atEnd = sessionEndsAt(session, idleSeconds);
  t.equal(decideRefresh({ ...session, spentAt: null, childIsLive: false }, atEnd, { idleSeconds, graceSeconds: 0 }), 'idle');
  t.equal(decideRefresh({ ...session, spentAt: null, childIsLive: false }, atEnd - 1, { idleSeconds, graceSeconds: 0 }), 'rotate');
});

t.test('isPurgeable: ended at least the retention ago', async (t) => {
  const times = { idleSeconds: 3600, retentionSeconds: 7 * 86400 };
  const week = 7 * 86_400_000;
  const live: SessionLifetime = { revokedAt: null, expiresAt: new Date(NOW + 86_400_000), lastUsedAt: new Date(NOW - 1000) };
  const cases: Array<[string, Partial<SessionLifetime>, boolean]> = [
    ['a live session', {}, false],
    ['expired exactly the retention ago', { expiresAt: new Date(NOW - week) }, true],
    ['expired just under the retention ago', { expiresAt: new Date(NOW - week + 1) }, false],
    ['idle since the retention ago', { lastUsedAt: new Date(NOW - week - 3600_000) }, true],
    ['idle, but not that long', { lastUsedAt: new Date(NOW - week - 3599_999) }, false],
    ['revoked long ago', { revokedAt: new Date(NOW - week - 1) }, true],
    ['revoked recently', { revokedAt: new Date(NOW - 1000) }, false],
    ['revoked recently, but expired long before', { revokedAt: new Date(NOW - 1000), expiresAt: new Date(NOW - week) }, true],
  ];
  for (const [name, change, expected] of cases) t.equal(isPurgeable({ ...live, ...change }, NOW, times), expected, name);
  t.ok(isPurgeable({ ...live, revokedAt: new Date(NOW) }, NOW, { ...times, retentionSeconds: 0 }), 'retention 0: purgeable once ended');
  t.notOk(isPurgeable(live, NOW, { ...times, retentionSeconds: 0 }), 'retention 0: a live session stays');
});

t.test('purgeCutoffs select exactly the purgeable sessions', async (t) => {
  // What the purge query asks of each row, column by column.
  const matches = (s: SessionLifetime, c: PurgeCutoffs) =>
    (s.revokedAt !== null && s.revokedAt <= c.revokedBy) || s.expiresAt <= c.expiresBy || s.lastUsedAt <= c.lastUsedBy;
  const instant = fc.integer({ min: NOW - 400 * 86_400_000, max: NOW + 400 * 86_400_000 }).map((ms) => new Date(ms));
  fc.assert(
    fc.property(
      fc.record({ revokedAt: fc.option(instant, { nil: null }), expiresAt: instant, lastUsedAt: instant }),
      fc.record({ idleSeconds: fc.integer({ min: 300, max: 366 * 86400 }), retentionSeconds: fc.integer({ min: 0, max: 366 * 86400 }) }),
      (session, times) => matches(session, purgeCutoffs(NOW, times)) === isPurgeable(session, NOW, times),
    ),
  );
  t.same(purgeCutoffs(NOW, { idleSeconds: 60, retentionSeconds: 3600 }), {
    revokedBy: new Date(NOW - 3600_000),
    expiresBy: new Date(NOW - 3600_000),
    lastUsedBy: new Date(NOW - 3660_000),
  });
});

t.test('refresh tokens', async (t) => {
  const token = newRefreshToken();
  t.ok(isWellFormedRefreshToken(token));
  t.not(newRefreshToken(), token, 'random');
  for (const bad of ['', 'a'.repeat(42), 'a'.repeat(44), `${'a'.repeat(42)}=`, `${'a'.repeat(42)}+`]) t.notOk(isWellFormedRefreshToken(bad), JSON.stringify(bad));
  // SHA-256 of "abc", base64url (FIPS 180-2 example).
  t.equal(hashRefreshToken('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  const key = Buffer.alloc(32, 1);
  const next = nextRefreshToken(key, token);
  t.ok(isWellFormedRefreshToken(next), 'a child has the shape of a token');
  t.equal(nextRefreshToken(key, token), next, 'derivation is repeatable');
  t.not(nextRefreshToken(Buffer.alloc(32, 2), token), next, 'and depends on the key');
  t.not(nextRefreshToken(key, next), next);
  t.equal(refreshFamily(next), refreshFamily(token), 'a child keeps its parent\'s family');
  t.equal(refreshFamily(nextRefreshToken(key, next)), refreshFamily(token), 'and so does every later one');
  t.equal(next.slice(0, 21), token.slice(0, 21), 'the family is the first half of the token');
  t.not(refreshFamily(newRefreshToken()), refreshFamily(token), 'each sign-in starts a family of its own');
  t.not(refreshFamily(token), hashRefreshToken(token), 'the family hash does not give away the token hash');
  // The derivation of earlier versions, still checked for a repeat of their rotations.
  const legacy = legacyNextRefreshToken(legacyChainKey(Buffer.alloc(32, 1)), token);
  t.ok(isWellFormedRefreshToken(legacy));
  t.not(legacy, next);
  t.equal(legacyNextRefreshToken(legacyChainKey(Buffer.alloc(32, 1)), token), legacy, 'repeatable');
  // What the version before the chain secret derived for this parent and ENCRYPTION_KEY.
  t.equal(legacyNextRefreshToken(legacyChainKey(Buffer.alloc(32, 1)), 'A'.repeat(43)), 'rRPoXC6akjK9x7qbaUmy6H5dhq9NmVFSz-mbwbA8Os8', 'the same token as before');
});
