// The admin API's answers on the wire (snake_case, times in ISO 8601), as
// openapi.yaml's Admin* schemas describe them.
import type { AdminSessionRow, AdminUser } from '../../admin/users.js';
import { sessionState } from '../../admin/session-view.js';
import type { DeliveryView } from '../../webhooks/outbox.js';

export function adminUserData(user: AdminUser) {
  return {
    id: user.id,
    twitter_id: user.twitterId,
    screen_name: user.screenName,
    name: user.name,
    picture: user.picture,
    email: user.email,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    status: user.bannedAt === null ? 'active' : 'banned',
    banned_at: user.bannedAt?.toISOString() ?? null,
    ban_reason: user.bannedAt === null ? null : user.banReason,
  };
}

export function adminSessionData(row: AdminSessionRow, nowMs: number, idleSeconds: number) {
  const state = sessionState(row, nowMs, idleSeconds);
  return {
    id: row.id,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    ip: row.ip,
    user_agent: row.userAgent,
    active: state.active,
    ended_at: state.endedAt?.toISOString() ?? null,
    end_reason: state.endReason,
  };
}

/** A delivery without its payload (the event itself is listed at /admin/audit) and without any signature. */
export function deliveryData(delivery: DeliveryView) {
  return {
    id: delivery.id,
    event_type: delivery.eventType,
    created_at: delivery.createdAt.toISOString(),
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt_at: delivery.nextAttemptAt.toISOString(),
    last_attempt_at: delivery.lastAttemptAt?.toISOString() ?? null,
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
  };
}
