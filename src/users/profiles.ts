// Profile queries. A user is keyed by the Twitter user id, never the screen
// name, which the user can change.
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { withDatabase } from '../store/db.js';
import { prepareStatement } from '../store/prepared-statement.js';
import type { UpstreamProtocol } from '../twitter/upstream.js';

export interface TwitterProfile {
  readonly twitterId: string;
  readonly screenName: string;
  readonly name: string;
  readonly picture: string | null;
  /** A confirmed address, or null: X returns none for an unconfirmed one. */
  readonly email: string | null;
}

/** The user's credentials at X, sealed (crypto-box) before they reach this module. */
export interface SealedCredentials {
  readonly protocol: UpstreamProtocol;
  readonly token: string;
  /** The OAuth 1.0a token secret; null under OAuth 2.0. */
  readonly secret: string | null;
}

export interface User {
  readonly id: string;
  readonly twitter_id: string;
  readonly screen_name: string;
  readonly name: string;
  readonly picture: string | null;
  readonly email: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

const PROFILE_COLUMNS = ['id', 'twitter_id', 'screen_name', 'name', 'picture', 'email', 'created_at', 'updated_at'] as const;

/** A user as a sign-in leaves them: the profile, whether the row was new, and any ban an operator set. */
export interface SignedInUser extends User {
  readonly is_new: boolean;
  readonly banned_at: Date | null;
}

/**
 * One statement, so parallel sign-ins of one user can never create two rows.
 * Keyed by the X user id, whichever protocol signed the user in: a user who
 * signed in over OAuth 1.0a keeps the same row (and roost's `sub`) over 2.0.
 */
export function upsertUser(db: Db, profile: TwitterProfile, sealed: SealedCredentials): Promise<SignedInUser> {
  const values = {
    twitter_id: profile.twitterId,
    screen_name: profile.screenName,
    name: profile.name,
    picture: profile.picture,
    email: profile.email,
    twitter_token_sealed: sealed.token,
    twitter_token_secret_sealed: sealed.secret,
    twitter_protocol: sealed.protocol,
  };
  return withDatabase(() =>
    db
      .insertInto('users')
      .values(values)
      .onConflict((oc) =>
        oc.column('twitter_id').doUpdateSet((eb) => ({
          screen_name: eb.ref('excluded.screen_name'),
          name: eb.ref('excluded.name'),
          picture: eb.ref('excluded.picture'),
          email: eb.ref('excluded.email'),
          twitter_token_sealed: eb.ref('excluded.twitter_token_sealed'),
          twitter_token_secret_sealed: eb.ref('excluded.twitter_token_secret_sealed'),
          twitter_protocol: eb.ref('excluded.twitter_protocol'),
          updated_at: sql`now()`,
        })),
      )
      // xmax is 0 on a row this statement inserted, and set on one it updated.
      .returning([...PROFILE_COLUMNS, 'banned_at', sql<boolean>`(xmax = 0)`.as('is_new')])
      .executeTakeFirstOrThrow(),
  );
}

/** The profile behind every /me: compiled once, and prepared on each connection (store/prepared-statement.ts). */
const userById = prepareStatement({ id: 'text' }, (db, values) => db.selectFrom('users').select(PROFILE_COLUMNS).where('id', '=', values.id));

export async function findUser(db: Db, id: string): Promise<User | undefined> {
  return (await withDatabase(() => userById(db, { id })))[0];
}

export interface DeletedUser {
  readonly twitterId: string;
  readonly credentials: SealedCredentials;
}

/** Deletes a user, their stored Twitter credentials and (by cascade) their sessions; returns the sealed credentials. */
export async function deleteUser(db: Db, id: string): Promise<DeletedUser | undefined> {
  const row = await withDatabase(() =>
    db
      .deleteFrom('users')
      .where('id', '=', id)
      .returning(['twitter_id', 'twitter_token_sealed', 'twitter_token_secret_sealed', 'twitter_protocol'])
      .executeTakeFirst(),
  );
  if (row === undefined) return undefined;
  const protocol: UpstreamProtocol = row.twitter_protocol === 'oauth2' ? 'oauth2' : 'oauth1';
  return { twitterId: row.twitter_id, credentials: { protocol, token: row.twitter_token_sealed, secret: row.twitter_token_secret_sealed } };
}
