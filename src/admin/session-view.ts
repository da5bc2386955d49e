// A session as an operator reads it: whether it is still signed in, and if
// not, when and why it ended. A revoked session ended at its revocation, with
// the reason stored then (logout, ban …); one that was never revoked ended
// at whichever came first of SESSION_TTL (`expiry`) and SESSION_IDLE_TTL
// (`idle`), the same times POST /token and /me go by (sessions/policy.ts).
import { sessionEndsAt } from '../sessions/policy.js';
import type { AdminSessionRow } from './users.js';

export interface SessionState {
  readonly active: boolean;
  readonly endedAt: Date | null;
  /** The stored reason of a revocation, or `expiry` or `idle`; null while active. */
  readonly endReason: string | null;
}

export function sessionState(row: Pick<AdminSessionRow, 'createdAt' | 'lastUsedAt' | 'expiresAt' | 'revokedAt' | 'revokedReason'>, nowMs: number, idleSeconds: number): SessionState {
  const endsAt = sessionEndsAt({ revokedAt: row.revokedAt, expiresAt: row.expiresAt, lastUsedAt: row.lastUsedAt }, idleSeconds);
  if (endsAt > nowMs) return { active: true, endedAt: null, endReason: null };
  if (row.revokedAt !== null && row.revokedAt.getTime() === endsAt) return { active: false, endedAt: row.revokedAt, endReason: row.revokedReason ?? 'revocation' };
  const reason = row.expiresAt.getTime() === endsAt ? 'expiry' : 'idle';
  return { active: false, endedAt: new Date(endsAt), endReason: reason };
}
