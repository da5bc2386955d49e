// Banning and unbanning a user. A ban is kept on the user's row, so a new
// sign-in finds it, and it ends every live session of the user at once. Each
// is one transaction: the user's row, their sessions and the audit events
// (user.banned, and session.ended with reason `ban` per session) commit
// together or not at all, and the row lock taken first serialises two bans
// of one user.
import type { AuditDetail } from '../audit/detail.js';
import type { AuditWriter } from '../audit/writer.js';
import { withDatabase, type Db } from '../store/db.js';

/** What a session ended by a ban records as its revoked_reason. */
export const BAN_REVOKED_REASON = 'ban';
/** Audit detail strings are at most this long: a longer reason is shortened there (the row keeps it whole). */
const AUDITED_REASON_LENGTH = 200;

export interface BanDeps {
  readonly db: Db;
  readonly audit: AuditWriter;
  readonly now: () => number;
  /** SESSION_IDLE_TTL: a session idle longer has ended already and is left as it is. */
  readonly idleSeconds: number;
}

/** Who acts, as the audit events record it. */
export interface BanActor {
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** Added to the detail of every event (which operator, say). */
  readonly detail: AuditDetail;
}

export interface Ban {
  readonly bannedAt: Date;
  readonly reason: string;
  /** The sessions this ban ended: the caller forgets them in its session check. */
  readonly endedSessionIds: readonly string[];
}

/**
 * Bans the user, or updates the reason of a ban in force (its time stays);
 * undefined when there is no such user.
 */
export async function banUser(deps: BanDeps, userId: string, reason: string, actor: BanActor): Promise<Ban | undefined> {
  const now = new Date(deps.now());
  return withDatabase(() =>
    deps.db.transaction().execute(async (trx) => {
      const user = await trx
        .updateTable('users')
        .set((eb) => ({ banned_at: eb.fn.coalesce('banned_at', eb.val(now)), ban_reason: reason }))
        .where('id', '=', userId)
        .returning('banned_at')
        .executeTakeFirst();
      if (!user?.banned_at) return undefined;
      const ended = await trx
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: BAN_REVOKED_REASON })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('last_used_at', '>', new Date(now.getTime() - deps.idleSeconds * 1000))
        .returning('id')
        .execute();
      const common = { userId, ip: actor.ip, userAgent: actor.userAgent };
      await deps.audit.record(trx, { ...common, type: 'user.banned', detail: { ...actor.detail, reason: reason.slice(0, AUDITED_REASON_LENGTH) } });
      for (const { id } of ended) {
        await deps.audit.record(trx, { ...common, type: 'session.ended', sessionId: id, detail: { ...actor.detail, reason: 'ban' } });
      }
      return { bannedAt: user.banned_at, reason, endedSessionIds: ended.map((row) => row.id) };
    }),
  );
}

/** Lifts the user's ban; whether there was one, or undefined when there is no such user. */
export async function unbanUser(deps: Pick<BanDeps, 'db' | 'audit'>, userId: string, actor: BanActor): Promise<{ readonly wasBanned: boolean } | undefined> {
  return withDatabase(() =>
    deps.db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('users').select('banned_at').where('id', '=', userId).forUpdate().executeTakeFirst();
      if (!before) return undefined;
      if (before.banned_at === null) return { wasBanned: false };
      await trx.updateTable('users').set({ banned_at: null, ban_reason: null }).where('id', '=', userId).execute();
      await deps.audit.record(trx, { type: 'user.unbanned', userId, ip: actor.ip, userAgent: actor.userAgent, detail: actor.detail });
      return { wasBanned: true };
    }),
  );
}
