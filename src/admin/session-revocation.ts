// An operator ends one session: the session and its audit event
// (session.ended, reason `revocation`) in one transaction.
import type { AuditDetail } from '../audit/detail.js';
import type { AuditWriter } from '../audit/writer.js';
import { withDatabase, type Db } from '../store/db.js';

/** What a session ended by an operator records as its revoked_reason (a user's own is `ended_by_user`). */
export const ADMIN_REVOKED_REASON = 'ended_by_admin';

export interface Revoker {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly detail: AuditDetail;
}

/** `ended` now, `already_ended` (revoked before; nothing changes), or undefined when there is no such session. */
export async function revokeSessionAsAdmin(
  deps: { readonly db: Db; readonly audit: AuditWriter; readonly now: () => number },
  sessionId: string,
  by: Revoker,
): Promise<{ readonly outcome: 'ended' | 'already_ended'; readonly userId: string } | undefined> {
  const now = new Date(deps.now());
  return withDatabase(() =>
    deps.db.transaction().execute(async (trx) => {
      const ended = await trx
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: ADMIN_REVOKED_REASON })
        .where('id', '=', sessionId)
        .where('revoked_at', 'is', null)
        .returning('user_id')
        .executeTakeFirst();
      if (ended) {
        await deps.audit.record(trx, {
          type: 'session.ended',
          userId: ended.user_id,
          sessionId,
          ip: by.ip,
          userAgent: by.userAgent,
          detail: { ...by.detail, reason: 'revocation' },
        });
        return { outcome: 'ended' as const, userId: ended.user_id };
      }
      const existing = await trx.selectFrom('sessions').select('user_id').where('id', '=', sessionId).executeTakeFirst();
      return existing && { outcome: 'already_ended' as const, userId: existing.user_id };
    }),
  );
}
