// The browser session behind single sign-on (OIDC Core §3.1.2.3): after an X
// sign-in through /authorize, the browser holds a cookie naming a row of the
// sessions table of kind 'browser', so the next client, or the same one
// later, gets its code without another trip to X. The row is listed and
// revoked like any session; a ban ends it with the others. The cookie's
// hash is stored with a prefix no refresh token's hash has, so the cookie
// can never be presented as a refresh token, nor a refresh token as it.
import { createHash, randomBytes } from 'node:crypto';
import { withDatabase, type Db } from '../store/db.js';
import { insertSession } from '../sessions/queries.js';

export interface BrowserSession {
  readonly id: string;
  readonly userId: string;
  /** When the person signed in at X. */
  readonly authTimeMs: number;
  /** What the sign-in hook added at that sign-in; the sessions opened from it carry them too. */
  readonly claims: Readonly<Record<string, unknown>> | null;
}

export interface BrowserCookie {
  readonly name: string;
  readonly options: { readonly path: '/'; readonly httpOnly: true; readonly sameSite: 'lax'; readonly secure: boolean };
}

/**
 * HttpOnly; over https Secure and __Host- prefixed (RFC 6265bis §4.1.3.2).
 * SameSite=Lax: sent when a client sends the browser to /authorize with a
 * link or redirect, not with a cross-site form POST.
 */
export function browserCookie(publicUrl: string): BrowserCookie {
  const secure = publicUrl.startsWith('https:');
  return { name: secure ? '__Host-roost_sso' : 'roost_sso', options: { path: '/', httpOnly: true, sameSite: 'lax', secure } };
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

function storedHash(token: string): string {
  return `sso:${createHash('sha256').update(token).digest('base64url')}`;
}

export interface OpenedBrowserSession {
  readonly id: string;
  /** Goes into the cookie, and nowhere else. */
  readonly token: string;
  readonly expiresAt: Date;
}

export async function openBrowserSession(
  db: Db,
  opening: {
    readonly userId: string;
    readonly authTimeMs: number;
    readonly ttlSeconds: number;
    readonly claims: Readonly<Record<string, unknown>> | undefined;
    readonly userAgent: string | null;
    readonly ip: string | null;
  },
): Promise<OpenedBrowserSession | undefined> {
  const token = randomBytes(32).toString('base64url');
  const session = await insertSession(db, {
    kind: 'browser',
    userId: opening.userId,
    refreshHash: storedHash(token),
    nowMs: opening.authTimeMs,
    authTimeMs: opening.authTimeMs,
    ttlSeconds: opening.ttlSeconds,
    claims: opening.claims,
    userAgent: opening.userAgent,
    ip: opening.ip,
  });
  return session && { id: session.id, token, expiresAt: session.expiresAt };
}

/**
 * The live browser session a cookie names: not ended, not past SESSION_TTL
 * or idle past SESSION_IDLE_TTL, its user not suspended. Using it counts as
 * activity.
 */
export async function findBrowserSession(db: Db, token: string | undefined, nowMs: number, idleSeconds: number): Promise<BrowserSession | undefined> {
  if (token === undefined || !TOKEN.test(token)) return undefined;
  const now = new Date(nowMs);
  const row = await withDatabase(() =>
    db
      .updateTable('sessions')
      .set({ last_used_at: now })
      .where('refresh_hash', '=', storedHash(token))
      .where('kind', '=', 'browser')
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('last_used_at', '>', new Date(nowMs - idleSeconds * 1000))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('users').select('users.id').whereRef('users.id', '=', 'sessions.user_id').where('users.banned_at', 'is not', null))))
      .returning(['id', 'user_id', 'auth_time', 'created_at', 'claims'])
      .executeTakeFirst(),
  );
  if (row === undefined) return undefined;
  return { id: row.id, userId: row.user_id, authTimeMs: (row.auth_time ?? row.created_at).getTime(), claims: row.claims };
}

/** The browser session of an 'oidc' session (an id_token_hint's sid), when it has one. */
export async function browserSessionOf(db: Db, sessionId: string, userId: string): Promise<string | null | undefined> {
  const row = await withDatabase(() =>
    db.selectFrom('sessions').select(['browser_session_id']).where('id', '=', sessionId).where('user_id', '=', userId).executeTakeFirst(),
  );
  return row === undefined ? undefined : row.browser_session_id;
}

/**
 * Ends a browser session and every session opened from it, or only the
 * named session when it has no browser session; returns the sessions that
 * ended now (with their users), for the session check and the audit log.
 */
export async function endBrowserSessions(
  db: Db,
  ids: { readonly browserSessionId: string | null; readonly sessionId?: string | undefined },
  reason: string,
  nowMs: number,
): Promise<ReadonlyArray<{ readonly id: string; readonly userId: string }>> {
  const { browserSessionId, sessionId } = ids;
  if (browserSessionId === null && sessionId === undefined) return [];
  const rows = await withDatabase(() =>
    db
      .updateTable('sessions')
      .set({ revoked_at: new Date(nowMs), revoked_reason: reason })
      .where('revoked_at', 'is', null)
      .where((eb) =>
        eb.or([
          ...(browserSessionId !== null ? [eb('id', '=', browserSessionId), eb('browser_session_id', '=', browserSessionId)] : []),
          ...(sessionId !== undefined ? [eb('id', '=', sessionId)] : []),
        ]),
      )
      .returning(['id', 'user_id'])
      .execute(),
  );
  return rows.map((row) => ({ id: row.id, userId: row.user_id }));
}

/**
 * A new sign-in at X in a browser that had a browser session (prompt=login,
 * max_age): the old one ends. When it was the same person's, the sessions it
 * opened move to the new one, so a logout there still ends them; another
 * person's end with it.
 */
export async function replaceBrowserSession(db: Db, previous: BrowserSession, next: { readonly id: string; readonly userId: string }, nowMs: number): Promise<ReadonlyArray<{ readonly id: string; readonly userId: string }>> {
  if (previous.userId !== next.userId) return endBrowserSessions(db, { browserSessionId: previous.id }, 'replaced', nowMs);
  await withDatabase(() => db.updateTable('sessions').set({ browser_session_id: next.id }).where('browser_session_id', '=', previous.id).execute());
  return endBrowserSessions(db, { browserSessionId: null, sessionId: previous.id }, 'replaced', nowMs);
}

/** A session id as a token names it (sid): a UUID, checked before it reaches a query. */
export function isSessionId(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
