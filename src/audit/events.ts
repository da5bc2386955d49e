// The audit log's vocabulary: which events are recorded and what each one
// carries. A successful refresh is not among them: it happens every few
// minutes per session and says nothing an operator needs per row, so the
// metrics count it instead (roost_refreshes_total).
import type { AuditDetail } from './detail.js';

export const AUDIT_EVENT_TYPES = [
  'sign_in.completed',
  /** detail.reason: the error code the sign-in ended with. */
  'sign_in.failed',
  /** The user cancelled at Twitter, or the sign-in hook refused (detail.reason says which). */
  'sign_in.denied',
  /** A spent refresh token came back: its session ends (RFC 9700 §4.14.2). */
  'refresh_token.reuse_detected',
  /** detail.reason: one of SESSION_END_REASONS. */
  'session.ended',
  'account.deleted',
  'user.banned',
  'user.unbanned',
  /** detail.kid: the new current key; detail.previous_kid: the one it replaced. */
  'signing_key.rotated',
  /** detail.kid: the revoked key. */
  'signing_key.revoked',
  /** Any other operator action through the admin API: detail.action names it. */
  'admin.action',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const SESSION_END_REASONS = ['logout', 'expiry', 'revocation', 'ban'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export type AuditOutcome = 'success' | 'failure';

/** What happened without saying how: the outcome each type has unless the caller says otherwise. */
const DEFAULT_OUTCOMES: Readonly<Record<AuditEventType, AuditOutcome>> = {
  'sign_in.completed': 'success',
  'sign_in.failed': 'failure',
  'sign_in.denied': 'failure',
  'refresh_token.reuse_detected': 'failure',
  'session.ended': 'success',
  'account.deleted': 'success',
  'user.banned': 'success',
  'user.unbanned': 'success',
  'signing_key.rotated': 'success',
  'signing_key.revoked': 'success',
  'admin.action': 'success',
};

export function defaultOutcome(type: AuditEventType): AuditOutcome {
  return DEFAULT_OUTCOMES[type];
}

export function isAuditEventType(value: unknown): value is AuditEventType {
  return typeof value === 'string' && (AUDIT_EVENT_TYPES as readonly string[]).includes(value);
}

/** An event as the code that saw it describes it; the writer adds the id and the time. */
export interface AuditEventInput {
  readonly type: AuditEventType;
  readonly userId?: string | null;
  readonly sessionId?: string | null;
  /** The client's address as the HTTP layer resolved it (TRUST_PROXY). */
  readonly ip?: string | null;
  readonly userAgent?: string | null;
  readonly outcome?: AuditOutcome;
  readonly detail?: AuditDetail;
}

/** An event as stored and listed. */
export interface AuditEvent {
  readonly id: string;
  readonly occurredAt: Date;
  readonly type: AuditEventType;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly outcome: AuditOutcome;
  readonly detail: AuditDetail;
}

export const MAX_USER_AGENT = 512;
export const MAX_IP = 64;

/** The event's fields as sent in a webhook's `data` and answered by the admin API: snake_case, on the wire. */
export function auditEventData(event: AuditEvent): Record<string, unknown> {
  return {
    id: event.id,
    type: event.type,
    occurred_at: event.occurredAt.toISOString(),
    user_id: event.userId,
    session_id: event.sessionId,
    ip: event.ip,
    user_agent: event.userAgent,
    outcome: event.outcome,
    detail: event.detail,
  };
}
