// What a presented refresh token may do, decided from the session's state
// and the clock alone: rotation (RFC 9700 §4.14.2), reuse detection with a
// grace window for concurrent refreshes, absolute and idle expiry.

export interface PresentedSession {
  readonly revokedAt: Date | null;
  readonly expiresAt: Date;
  readonly lastUsedAt: Date;
  /** When the presented token was used already; null when it is the session's live token. */
  readonly spentAt: Date | null;
  /** True when the token the presented one was exchanged for is still the session's live token. */
  readonly childIsLive: boolean;
}

export interface SessionTimes {
  readonly idleSeconds: number;
  readonly graceSeconds: number;
}

export type RefreshDecision =
  | 'rotate' // the live token: exchange it for the next one
  | 'repeat' // its first use was moments ago (another tab): answer the same new token again
  | 'reuse' // an old token again: someone else may hold it, so the session ends
  | 'revoked'
  | 'expired'
  | 'idle';

export function decideRefresh(session: PresentedSession, nowMs: number, times: SessionTimes): RefreshDecision {
  if (session.revokedAt !== null) return 'revoked';
  if (session.expiresAt.getTime() <= nowMs) return 'expired';
  if (session.spentAt !== null) {
    const sinceUse = nowMs - session.spentAt.getTime();
    return session.childIsLive && sinceUse <= times.graceSeconds * 1000 ? 'repeat' : 'reuse';
  }
  if (session.lastUsedAt.getTime() + times.idleSeconds * 1000 <= nowMs) return 'idle';
  return 'rotate';
}
