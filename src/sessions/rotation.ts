// The rotation of a live refresh token (RFC 9700 §4.14.2) in one statement,
// so that the common refresh is one round trip to Postgres: the session is
// found by its live token and rotated only if the policy allows it now
// (rotationBounds), the presented token is kept as spent, the session's
// spent tokens beyond SPENT_TOKENS_KEPT are pruned, and the user the new
// access token names is read, all at once. What the statement saw of the
// presented token before it rotated comes back too, so the caller tells an
// ended session from a rotation lost to a concurrent refresh. Compiled once
// (store/prepared-statement.ts): this is the hottest statement roost sends.
import { withDatabase, type Db } from '../store/db.js';
import type { User } from '../users/profiles.js';
import type { RotationBounds } from './policy.js';
import type { SessionClient } from './grants.js';
import { prepareStatement } from '../store/prepared-statement.js';
import { SPENT_TOKENS_KEPT, type SessionRow } from './queries.js';

export interface Rotation {
  readonly presentedHash: string;
  readonly nextHash: string;
  /** refreshFamily() of the presented token: recorded for a session opened before families were. */
  readonly family: string;
  /** The registered client that authenticated, or null: only that client's session rotates. */
  readonly clientId?: string | null;
  readonly nowMs: number;
  readonly bounds: RotationBounds;
}

/** The columns the refresh policy reads. */
export type LiveSession = Pick<SessionRow, 'id' | 'user_id' | 'refresh_hash' | 'revoked_at' | 'expires_at' | 'last_used_at'> & { readonly client_id: string | null };

export type RotationResult =
  /** Rotated; `user` is undefined only if the user vanished, which the foreign key's cascade rules out. */
  | {
      readonly kind: 'rotated';
      readonly sessionId: string;
      readonly user: User | undefined;
      readonly claims: Readonly<Record<string, unknown>> | null;
      /** The registered client of the session, when it has one. */
      readonly client: SessionClient | undefined;
    }
  /**
   * The presented token was the live one when the statement began, and is
   * not rotated: the session has ended, or a concurrent refresh rotated it
   * first (the row lock made this statement wait, then find it gone).
   */
  | { readonly kind: 'kept'; readonly session: LiveSession }
  /** Not the live token of any session: spent, forgotten or unknown. */
  | { readonly kind: 'not-live' };

/**
 * Of two concurrent rotations of one token exactly one succeeds: the second
 * waits for the first's row lock, then finds the live token changed.
 */
export async function rotateRefreshToken(db: Db, rotation: Rotation): Promise<RotationResult> {
  const rows = await withDatabase(() =>
    rotationStatement(db, {
      presentedHash: rotation.presentedHash,
      nextHash: rotation.nextHash,
      family: rotation.family,
      // No client_id is empty: roost's own sessions have none.
      clientId: rotation.clientId ?? '',
      now: new Date(rotation.nowMs),
      expiresAfter: rotation.bounds.expiresAfter,
      lastUsedAfter: rotation.bounds.lastUsedAfter,
    }),
  );
  const row = rows[0];
  if (row === undefined) return { kind: 'not-live' };
  const { rotated_id: rotatedId, rotated_claims: claims, rotated_scope: scope, rotated_auth_time: authTime, rotated_created_at: rotatedCreatedAt, twitter_id: twitterId, screen_name: screenName, name, picture, email, created_at: createdAt, updated_at: updatedAt, ...session } = row;
  if (rotatedId === null) return { kind: 'kept', session };
  const user: User | undefined =
    twitterId === null || screenName === null || name === null || createdAt === null || updatedAt === null
      ? undefined
      : { id: session.user_id, twitter_id: twitterId, screen_name: screenName, name, picture, email, created_at: createdAt, updated_at: updatedAt };
  const client =
    session.client_id === null ? undefined : { clientId: session.client_id, scope: scope ?? 'openid', authTimeMs: (authTime ?? rotatedCreatedAt ?? new Date(0)).getTime() };
  return { kind: 'rotated', sessionId: rotatedId, user, claims: claims ?? null, client };
}

const rotationStatement = prepareStatement(
  { presentedHash: 'text', nextHash: 'text', family: 'text', clientId: 'text', now: 'timestamp', expiresAfter: 'timestamp', lastUsedAfter: 'timestamp' },
  (db, values) =>
    db
      // A plain read in a data-modifying statement sees the rows as they were before it.
      .with('live', (qb) =>
        qb
          .selectFrom('sessions')
          .select(['id', 'user_id', 'refresh_hash', 'revoked_at', 'expires_at', 'last_used_at', 'client_id'])
          .where('refresh_hash', '=', values.presentedHash),
      )
      .with('rotated', (qb) =>
        qb
          .updateTable('sessions')
          .set((eb) => ({
            refresh_hash: values.nextHash,
            last_used_at: values.now,
            rotations: eb('rotations', '+', 1),
            refresh_family: eb.fn.coalesce('refresh_family', eb.val(values.family)),
          }))
          .where('refresh_hash', '=', values.presentedHash)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', values.expiresAfter)
          .where('last_used_at', '>', values.lastUsedAfter)
          .where((eb) => eb(eb.fn.coalesce('client_id', eb.val('')), '=', values.clientId))
          // A suspended user's session rotates no more, even one a ban could not see (it ends them all).
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('users').select('users.id').whereRef('users.id', '=', 'sessions.user_id').where('users.banned_at', 'is not', null))))
          .returning(['id', 'user_id', 'rotations', 'claims', 'scope', 'auth_time', 'created_at']),
      )
      .with('spent', (qb) =>
        qb
          .insertInto('spent_refresh_tokens')
          .columns(['hash', 'session_id', 'spent_at', 'generation'])
          .expression((eb) => eb.selectFrom('rotated').select([eb.val(values.presentedHash).as('hash'), 'rotated.id', eb.val(values.now).as('spent_at'), 'rotated.rotations']))
          .returning('hash'),
      )
      // The statement sees the rows as they were before it: with the one it adds, SPENT_TOKENS_KEPT remain.
      .with('pruned', (qb) =>
        qb
          .deleteFrom('spent_refresh_tokens')
          .using('rotated')
          .whereRef('spent_refresh_tokens.session_id', '=', 'rotated.id')
          .where((eb) => eb('spent_refresh_tokens.generation', '<=', eb(eb.ref('rotated.rotations'), '-', SPENT_TOKENS_KEPT)))
          .returning('spent_refresh_tokens.hash'),
      )
      .selectFrom('live')
      .leftJoin('rotated', 'rotated.id', 'live.id')
      .leftJoin('users', 'users.id', 'rotated.user_id')
      .select([
        'live.id',
        'live.user_id',
        'live.refresh_hash',
        'live.revoked_at',
        'live.expires_at',
        'live.last_used_at',
        'live.client_id',
        'rotated.id as rotated_id',
        'rotated.claims as rotated_claims',
        'rotated.scope as rotated_scope',
        'rotated.auth_time as rotated_auth_time',
        'rotated.created_at as rotated_created_at',
        'users.twitter_id',
        'users.screen_name',
        'users.name',
        'users.picture',
        'users.email',
        'users.created_at',
        'users.updated_at',
      ]),
);
