// The queries behind the admin API's user routes: a keyset page of users
// found by handle prefix, X id or email, newest first; one user with their
// ban; a user's most recent sessions, ended ones included.
import { sql } from 'kysely';
import { withDatabase, type Db } from '../store/db.js';
import { encodeUserCursor, startsWithPattern, type UserCursor, type UserFilter } from './user-search.js';

export interface AdminUser {
  readonly id: string;
  readonly twitterId: string;
  readonly screenName: string;
  readonly name: string;
  readonly picture: string | null;
  readonly email: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly bannedAt: Date | null;
  readonly banReason: string | null;
}

export interface UserPage {
  readonly users: AdminUser[];
  /** Give it back for the next page; undefined on the last one. */
  readonly nextCursor: string | undefined;
}

/** The most recent sessions an operator sees of one user: bounded, whatever the user did. */
export const SESSIONS_SHOWN = 50;

function selectUsers(db: Db) {
  return db
    .selectFrom('users')
    .select(['id', 'twitter_id', 'screen_name', 'name', 'picture', 'email', 'created_at', 'updated_at', 'banned_at', 'ban_reason'])
    // The exact stored time for the cursor: a Date would drop its microseconds.
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('created_at_exact'));
}

type UserRow = Awaited<ReturnType<ReturnType<typeof selectUsers>['executeTakeFirstOrThrow']>>;

function toAdminUser(row: UserRow): AdminUser {
  return {
    id: row.id,
    twitterId: row.twitter_id,
    screenName: row.screen_name,
    name: row.name,
    picture: row.picture,
    email: row.email,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    bannedAt: row.banned_at,
    banReason: row.ban_reason,
  };
}

export async function searchUsers(db: Db, query: { readonly filter: UserFilter; readonly limit: number; readonly cursor?: UserCursor }): Promise<UserPage> {
  let select = selectUsers(db);
  const { filter, cursor } = query;
  switch (filter.kind) {
    case 'handle':
      select = select.where(sql`lower(screen_name)`, 'like', startsWithPattern(filter.prefix));
      break;
    case 'twitter_id_or_handle':
      select = select.where((eb) => eb.or([eb('twitter_id', '=', filter.value), eb(sql`lower(screen_name)`, 'like', startsWithPattern(filter.value))]));
      break;
    case 'email':
      select = select.where(sql`lower(email)`, '=', filter.email);
      break;
    case 'all':
      break;
  }
  if (cursor) {
    select = select.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(sql<Date>`${cursor.createdAt}::timestamptz`, sql<string>`${cursor.id}::uuid`)));
  }
  const rows = await withDatabase(() => select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit + 1).execute());
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    users: page.map(toAdminUser),
    nextCursor: rows.length > query.limit && last ? encodeUserCursor({ createdAt: last.created_at_exact, id: last.id }) : undefined,
  };
}

export async function findAdminUser(db: Db, id: string): Promise<AdminUser | undefined> {
  const row = await withDatabase(() => selectUsers(db).where('id', '=', id).executeTakeFirst());
  return row && toAdminUser(row);
}

export interface AdminSessionRow {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly revokedReason: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** The user's SESSIONS_SHOWN most recent sessions, newest first, live or ended (until purged). */
export async function listUserSessions(db: Db, userId: string): Promise<AdminSessionRow[]> {
  const rows = await withDatabase(() =>
    db
      .selectFrom('sessions')
      .select(['id', 'created_at', 'last_used_at', 'expires_at', 'revoked_at', 'revoked_reason', 'ip', 'user_agent'])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(SESSIONS_SHOWN)
      .execute(),
  );
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    ip: row.ip,
    userAgent: row.user_agent,
  }));
}
