// Session queries. A session is one sign-in on one device: it holds the
// hash of its one live refresh token and of its tokens' family tag; its last
// SPENT_TOKENS_KEPT used tokens move to spent_refresh_tokens, so that a
// refresh repeated within the grace window is told from reuse, and older
// ones are still known as the session's by their family.
import { withDatabase, type Db, type SessionKind } from '../store/db.js';
import { prepareStatement } from '../store/prepared-statement.js';
import type { PresentedSession, PurgeCutoffs, SessionLifetime } from './policy.js';

export interface SessionRow {
  readonly id: string;
  readonly user_id: string;
  readonly refresh_hash: string;
  readonly created_at: Date;
  readonly last_used_at: Date;
  readonly expires_at: Date;
  readonly revoked_at: Date | null;
  readonly user_agent: string | null;
  readonly ip: string | null;
  /** What the sign-in hook added, carried by every token of the session. */
  readonly claims?: Readonly<Record<string, unknown>> | null;
  /** 'app', 'browser' (single sign-on) or 'oidc'; rows read before the column existed have none. */
  readonly kind?: SessionKind;
  /** A registered OpenID Connect client's session: the client, the scope granted, when the person signed in at X. */
  readonly client_id?: string | null;
  readonly scope?: string | null;
  readonly auth_time?: Date | null;
}

/**
 * Spent refresh tokens kept per session: a client refreshing at the rate
 * limit would otherwise add a row per refresh for the session's whole life.
 * Only the newest is needed (the grace window repeats the immediate parent);
 * the others serve as a short history. A token older than these is still
 * recognised as reuse by its family (findSessionByRefreshFamily).
 */
export const SPENT_TOKENS_KEPT = 20;

export interface NewSession {
  readonly userId: string;
  readonly refreshHash: string;
  /** refreshFamily() of its first token; without it, set at its first rotation. */
  readonly refreshFamily?: string;
  readonly nowMs: number;
  readonly ttlSeconds: number;
  readonly userAgent: string | null;
  readonly ip: string | null;
  /** What the sign-in hook added (SIGN_IN_HOOK_URL). */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** 'app' unless said: a browser session (SSO) or a registered client's. */
  readonly kind?: SessionKind;
  readonly clientId?: string;
  readonly scope?: string;
  readonly authTimeMs?: number;
  readonly browserSessionId?: string | null;
}

const MAX_USER_AGENT = 512;

/** Opens a session for a user; undefined when the user no longer exists (deleted meanwhile). */
export async function insertSession(db: Db, session: NewSession): Promise<{ id: string; expiresAt: Date } | undefined> {
  const now = new Date(session.nowMs);
  const expiresAt = new Date(session.nowMs + session.ttlSeconds * 1000);
  const row = await withDatabase(() =>
    db
      .insertInto('sessions')
      // INSERT … SELECT: a user deleted a moment ago yields no row instead of a foreign-key error.
      .columns(['user_id', 'refresh_hash', 'refresh_family', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'ip', 'claims', 'kind', 'client_id', 'scope', 'auth_time', 'browser_session_id'])
      .expression((eb) =>
        eb
          .selectFrom('users')
          .select([
            'id',
            eb.val(session.refreshHash).as('refresh_hash'),
            eb.val(session.refreshFamily ?? null).as('refresh_family'),
            eb.val(now).as('created_at'),
            eb.val(now).as('last_used_at'),
            eb.val(expiresAt).as('expires_at'),
            eb.val(session.userAgent?.slice(0, MAX_USER_AGENT) ?? null).as('user_agent'),
            eb.val(session.ip).as('ip'),
            eb.val(session.claims ? JSON.stringify(session.claims) : null).as('claims'),
            eb.val(session.kind ?? 'app').as('kind'),
            eb.val(session.clientId ?? null).as('client_id'),
            eb.val(session.scope ?? null).as('scope'),
            eb.val(session.authTimeMs === undefined ? null : new Date(session.authTimeMs)).as('auth_time'),
            eb.val(session.browserSessionId ?? null).as('browser_session_id'),
          ])
          .where('id', '=', session.userId)
          // A ban that committed after the sign-in checked for one still wins; and FOR SHARE
          // makes this insert wait for a ban being written, then see it (or the ban see this session).
          .where('banned_at', 'is', null)
          // A registered client's session opens only while the browser session it came from is live: a code issued before a logout opens nothing after it.
          .$if(session.browserSessionId !== undefined && session.browserSessionId !== null, (qb) =>
            qb.where(({ exists, selectFrom }) =>
              exists(
                selectFrom('sessions as browser')
                  .select('browser.id')
                  .where('browser.id', '=', session.browserSessionId as string)
                  .where('browser.revoked_at', 'is', null),
              ),
            ),
          )
          .forShare(),
      )
      .returning('id')
      .executeTakeFirst(),
  );
  return row && { id: row.id, expiresAt };
}

export type FoundSession = { readonly row: SessionRow } & Pick<PresentedSession, 'spentAt'>;

/** The session a refresh token belongs to, whether it is the live token or an already used one. */
export async function findSessionByRefreshHash(db: Db, hash: string): Promise<FoundSession | undefined> {
  return withDatabase(async () => {
    const live = await db.selectFrom('sessions').selectAll().where('refresh_hash', '=', hash).executeTakeFirst();
    if (live) return { row: live, spentAt: null };
    const spent = await db
      .selectFrom('spent_refresh_tokens as t')
      .innerJoin('sessions as s', 's.id', 't.session_id')
      .selectAll('s')
      .select('t.spent_at')
      .where('t.hash', '=', hash)
      .executeTakeFirst();
    if (!spent) return undefined;
    const { spent_at: spentAt, ...row } = spent;
    return { row, spentAt };
  });
}

/**
 * The session a token belongs to by its family when its hash is neither
 * live nor among the spent tokens kept: a token rotated away more than
 * SPENT_TOKENS_KEPT refreshes ago.
 */
export async function findSessionByRefreshFamily(db: Db, family: string): Promise<FoundSession | undefined> {
  const row = await withDatabase(() => db.selectFrom('sessions').selectAll().where('refresh_family', '=', family).executeTakeFirst());
  return row && { row, spentAt: 'forgotten' };
}

export async function touchSession(db: Db, sessionId: string, nowMs: number): Promise<void> {
  await withDatabase(() => db.updateTable('sessions').set({ last_used_at: new Date(nowMs) }).where('id', '=', sessionId).execute());
}

/** Ends a session for good; ending an ended one changes nothing. */
/** Ends a session; true when this call ended it, false when it had ended already (or never was). */
export async function revokeSession(db: Db, sessionId: string, reason: string, nowMs: number): Promise<boolean> {
  const result = await withDatabase(() =>
    db
      .updateTable('sessions')
      .set({ revoked_at: new Date(nowMs), revoked_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst(),
  );
  return result.numUpdatedRows > 0n;
}

/** Ends one of a user's own sessions; false when the user has no session of that id. */
export async function revokeUserSession(db: Db, userId: string, sessionId: string, reason: string, nowMs: number): Promise<boolean> {
  return withDatabase(async () => {
    const own = await db.selectFrom('sessions').select('id').where('id', '=', sessionId).where('user_id', '=', userId).executeTakeFirst();
    if (!own) return false;
    await revokeSession(db, sessionId, reason, nowMs);
    return true;
  });
}

/** The state /me checks a token's `sid` against. */
/** The session check behind /me (session-check.ts): compiled once, and prepared on each connection. */
const sessionStateById = prepareStatement({ id: 'text' }, (db, values) =>
  db.selectFrom('sessions').select(['revoked_at', 'expires_at', 'last_used_at']).where('id', '=', values.id),
);

export async function findSessionState(db: Db, sessionId: string): Promise<SessionLifetime | undefined> {
  const [row] = await withDatabase(() => sessionStateById(db, { id: sessionId }));
  return row && { revokedAt: row.revoked_at, expiresAt: row.expires_at, lastUsedAt: row.last_used_at };
}

/** A user's sessions that are still signed in, most recently used first. */
export async function listActiveSessions(db: Db, userId: string, nowMs: number, idleSeconds: number): Promise<SessionRow[]> {
  return withDatabase(() =>
    db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date(nowMs))
      .where('last_used_at', '>', new Date(nowMs - idleSeconds * 1000))
      .orderBy('last_used_at', 'desc')
      .execute(),
  );
}

export async function listSessionIds(db: Db, userId: string): Promise<string[]> {
  const rows = await withDatabase(() => db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute());
  return rows.map((row) => row.id);
}

/**
 * Deletes at most `limit` sessions that ended by the cutoffs, their spent
 * refresh tokens with them (ON DELETE CASCADE); answers how many went. Rows
 * another purge holds are skipped rather than waited for (SKIP LOCKED), so
 * replicas purging at once share the work instead of queueing on it.
 */
export async function deleteEndedSessions(db: Db, cutoffs: PurgeCutoffs, limit: number): Promise<number> {
  const result = await withDatabase(() =>
    db
      .deleteFrom('sessions')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('sessions')
          .select('id')
          .where((where) =>
            where.or([
              where('revoked_at', '<=', cutoffs.revokedBy),
              where('expires_at', '<=', cutoffs.expiresBy),
              where('last_used_at', '<=', cutoffs.lastUsedBy),
            ]),
          )
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst(),
  );
  return Number(result.numDeletedRows);
}
