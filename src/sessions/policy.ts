// What a presented refresh token may do, decided from the session's state
// and the clock alone: rotation (RFC 9700 §4.14.2), reuse detection with a
// grace window for concurrent refreshes, absolute and idle expiry.

export interface PresentedSession {
  readonly revokedAt: Date | null;
  readonly expiresAt: Date;
  readonly lastUsedAt: Date;
  /**
   * When the presented token was used already; null when it is the
   * session's live token; 'forgotten' when it is a token of the session used
   * longer ago than the spent tokens a session keeps.
   */
  readonly spentAt: Date | 'forgotten' | null;
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
  if (session.spentAt === 'forgotten') return 'reuse';
  if (session.spentAt !== null) {
    const sinceUse = nowMs - session.spentAt.getTime();
    return session.childIsLive && sinceUse <= times.graceSeconds * 1000 ? 'repeat' : 'reuse';
  }
  if (session.lastUsedAt.getTime() + times.idleSeconds * 1000 <= nowMs) return 'idle';
  return 'rotate';
}

/** The columns that say when a session ends. */
export interface SessionLifetime {
  readonly revokedAt: Date | null;
  readonly expiresAt: Date;
  readonly lastUsedAt: Date;
}

/**
 * When a session ends (or ended): the first of its revocation, its absolute
 * expiry and its idle expiry, as decideRefresh sees them. A refresh before
 * then moves the idle expiry, so for a live session this is a "not before".
 */
export function sessionEndsAt(session: SessionLifetime, idleSeconds: number): number {
  const unrevoked = Math.min(session.expiresAt.getTime(), session.lastUsedAt.getTime() + idleSeconds * 1000);
  return session.revokedAt === null ? unrevoked : Math.min(unrevoked, session.revokedAt.getTime());
}

export interface RetentionTimes {
  readonly idleSeconds: number;
  /** Seconds an ended session is kept before it is purged. */
  readonly retentionSeconds: number;
}

/** A session may be purged once it ended at least `retentionSeconds` ago. */
export function isPurgeable(session: SessionLifetime, nowMs: number, times: RetentionTimes): boolean {
  return sessionEndsAt(session, times.idleSeconds) <= nowMs - times.retentionSeconds * 1000;
}

/**
 * isPurgeable as one bound per column, for a query that uses the columns'
 * indexes: a session is purgeable when any of its columns is at or before
 * its bound (a never revoked one has no revokedAt to compare).
 */
export interface PurgeCutoffs {
  readonly revokedBy: Date;
  readonly expiresBy: Date;
  readonly lastUsedBy: Date;
}

export function purgeCutoffs(nowMs: number, times: RetentionTimes): PurgeCutoffs {
  const endedBy = nowMs - times.retentionSeconds * 1000;
  return { revokedBy: new Date(endedBy), expiresBy: new Date(endedBy), lastUsedBy: new Date(endedBy - times.idleSeconds * 1000) };
}

/**
 * decideRefresh's 'rotate' for the live token as one bound per column, for
 * the statement that rotates it only when it may: a session is rotatable
 * when it is not revoked, its expiry is after `expiresAfter` and its last use
 * after `lastUsedAfter`, exactly when decideRefresh answers 'rotate'.
 */
export interface RotationBounds {
  readonly expiresAfter: Date;
  readonly lastUsedAfter: Date;
}

export function rotationBounds(nowMs: number, idleSeconds: number): RotationBounds {
  return { expiresAfter: new Date(nowMs), lastUsedAfter: new Date(nowMs - idleSeconds * 1000) };
}
