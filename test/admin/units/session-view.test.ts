// A session's state as an operator reads it: live, or ended when and why.
import t from 'tap';
import { sessionState } from '../../../src/admin/session-view.js';

const HOUR = 3600_000;
const idleSeconds = 24 * 3600;
const at = (hours: number) => new Date(Date.UTC(2026, 0, 1) + hours * HOUR);
const now = at(100).getTime();
const session = (overrides: Partial<Parameters<typeof sessionState>[0]> = {}) => ({
  createdAt: at(90),
  lastUsedAt: at(99),
  expiresAt: at(200),
  revokedAt: null,
  revokedReason: null,
  ...overrides,
});

t.test('each way a session is or is not signed in', async (t) => {
  const cases: Array<[string, Parameters<typeof sessionState>[0], ReturnType<typeof sessionState>]> = [
    ['live', session(), { active: true, endedAt: null, endReason: null }],
    ['revoked, with its reason', session({ revokedAt: at(99.5), revokedReason: 'ban' }), { active: false, endedAt: at(99.5), endReason: 'ban' }],
    ['revoked without a reason', session({ revokedAt: at(99.5) }), { active: false, endedAt: at(99.5), endReason: 'revocation' }],
    ['past SESSION_TTL', session({ expiresAt: at(99.9) }), { active: false, endedAt: at(99.9), endReason: 'expiry' }],
    ['idle too long', session({ lastUsedAt: at(70) }), { active: false, endedAt: at(94), endReason: 'idle' }],
    ['revoked after it had expired: it ended at its expiry', session({ expiresAt: at(95), revokedAt: at(99), revokedReason: 'ban' }), { active: false, endedAt: at(95), endReason: 'expiry' }],
    ['revoked in the future of this clock: still live until then', session({ revokedAt: at(101), revokedReason: 'logout' }), { active: true, endedAt: null, endReason: null }],
    ['ending exactly now has ended', session({ expiresAt: at(100) }), { active: false, endedAt: at(100), endReason: 'expiry' }],
  ];
  for (const [name, row, expected] of cases) t.same(sessionState(row, now, idleSeconds), expected, name);
});
