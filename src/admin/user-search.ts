// What an operator's search for users means, as plain values: `q` names a
// user by handle prefix, by X id, or by email, and a page of results is
// newest first by (created_at, id). The cursor carries created_at to the
// microsecond, as Postgres stores it (users.created_at is now() at the
// insert), so that no row falls between two pages; it is opaque to the
// client and checked strictly when it comes back.

export const DEFAULT_USER_PAGE = 50;
export const MAX_USER_PAGE = 200;

export type UserFilter =
  | { readonly kind: 'all' }
  /** Lower-cased, without the `@`. */
  | { readonly kind: 'handle'; readonly prefix: string }
  /** Digits only: an X id, or the start of a handle made of digits. */
  | { readonly kind: 'twitter_id_or_handle'; readonly value: string }
  /** Lower-cased. */
  | { readonly kind: 'email'; readonly email: string };

/** X handles are 1 to 15 letters, digits and underscores. */
const HANDLE_PREFIX = /^@?([A-Za-z0-9_]{1,15})$/;
const DIGITS = /^[0-9]{1,20}$/;

/** How `q` is read; undefined when it can be no handle, X id or email (nothing matches it). */
export function parseUserFilter(q: string | undefined): UserFilter | undefined {
  const value = q?.trim() ?? '';
  if (value === '') return { kind: 'all' };
  // No handle, id or address holds a control or unassigned character (nor can Postgres hold a NUL).
  if (/\p{C}/u.test(value)) return undefined;
  // An address has an @ after its first character; a handle may start with one.
  if (value.indexOf('@', 1) > 0) return { kind: 'email', email: value.toLowerCase() };
  if (DIGITS.test(value)) return { kind: 'twitter_id_or_handle', value };
  const handle = HANDLE_PREFIX.exec(value)?.[1];
  return handle === undefined ? undefined : { kind: 'handle', prefix: handle.toLowerCase() };
}

/** A LIKE pattern for the values starting with `prefix` (`_` and `%` are LIKE's wildcards; `\` its escape). */
export function startsWithPattern(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

export interface UserCursor {
  /** created_at in UTC to the microsecond: `2026-01-01T00:00:00.123456Z`. */
  readonly createdAt: string;
  readonly id: string;
}

const MICROSECOND_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CURSOR = 200;

export function encodeUserCursor(cursor: UserCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

/** undefined for anything encodeUserCursor did not make. */
export function decodeUserCursor(value: string): UserCursor | undefined {
  if (value.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
  const [createdAt, id] = parsed as unknown[];
  if (typeof createdAt !== 'string' || typeof id !== 'string' || !MICROSECOND_TIME.test(createdAt) || !UUID.test(id)) return undefined;
  // A time of the right shape that is no real time (February 30) is refused here, not by Postgres.
  const toMilliseconds = createdAt.replace(/\d{3}Z$/, 'Z');
  const date = new Date(toMilliseconds);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== toMilliseconds) return undefined;
  return { createdAt, id };
}
