// Signing keys in Postgres. Every change is a guarded update, so replicas and
// the keys command can apply the same transition at once and exactly one wins;
// the unique indexes allow one current and one next key per algorithm.
import { sql, type Selectable } from 'kysely';
import { withDatabase, type Db, type SigningKeysTable } from '../store/db.js';
import { PUBLISHED_STATES, type KeyRecord, type KeyState } from './key-lifecycle.js';
import type { NewKey } from './signing-keys.js';

export type KeyRow = Selectable<SigningKeysTable>;

export function toKeyRecord(row: KeyRow): KeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state as KeyState,
    publicJwk: row.public_jwk,
    publishedAt: row.published_at,
    activatedAt: row.activated_at,
    retiredAt: row.retired_at,
    inUseAt: row.in_use_at ?? null,
  };
}

/** The keys in the JWKS (next, current, previous). */
export function readPublishedKeys(db: Db): Promise<KeyRow[]> {
  return withDatabase(() => db.selectFrom('signing_keys').selectAll().where('state', 'in', PUBLISHED_STATES).execute());
}

const LIST_ORDER: Record<string, number> = { next: 0, current: 1, previous: 2 };

/** Every key: next, current, previous, then the rest; by algorithm within each, newest first. */
export async function readAllKeys(db: Db): Promise<KeyRow[]> {
  const rows = await withDatabase(() => db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').orderBy('kid').execute());
  return rows.sort((a, b) => (LIST_ORDER[a.state] ?? 3) - (LIST_ORDER[b.state] ?? 3) || (a.alg < b.alg ? -1 : a.alg > b.alg ? 1 : 0));
}

/** Stores a new key as next or current; false when another key of its algorithm already holds that state. */
export async function insertKey(db: Db, key: NewKey, state: 'next' | 'current', now: Date): Promise<boolean> {
  const result = await withDatabase(() =>
    db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        alg: key.alg,
        state,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwk_sealed: key.privateJwkSealed,
        created_at: now,
        published_at: now,
        activated_at: state === 'current' ? now : null,
      })
      // The unique index on (alg) for the state refuses a second current (or next) key of the algorithm.
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst(),
  );
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

class StaleTransition extends Error {}

/** next → current, and current → previous; false when the keys were no longer in those states. */
export async function promoteKey(db: Db, nextKid: string, currentKid: string | undefined, now: Date): Promise<boolean> {
  return withDatabase(async () => {
    try {
      await db.transaction().execute(async (trx) => {
        // Demoted first: the unique index allows one current key of an algorithm at any moment.
        if (currentKid !== undefined) {
          const demoted = await trx
            .updateTable('signing_keys')
            .set({ state: 'previous', retired_at: now })
            .where('kid', '=', currentKid)
            .where('state', '=', 'current')
            .executeTakeFirst();
          if (Number(demoted.numUpdatedRows) !== 1) throw new StaleTransition();
        }
        const promoted = await trx
          .updateTable('signing_keys')
          .set({ state: 'current', activated_at: now })
          .where('kid', '=', nextKid)
          .where('state', '=', 'next')
          .executeTakeFirst();
        if (Number(promoted.numUpdatedRows) !== 1) throw new StaleTransition();
      });
      return true;
    } catch (error) {
      // Another replica (or the keys command) got there first; the rollback undid the demotion.
      if (error instanceof StaleTransition) return false;
      throw error;
    }
  });
}

/** previous → expired: it leaves the JWKS and its private part is erased. */
export async function expireKey(db: Db, kid: string, now: Date): Promise<boolean> {
  const result = await withDatabase(() =>
    db
      .updateTable('signing_keys')
      .set({ state: 'expired', expired_at: now, private_jwk_sealed: null })
      .where('kid', '=', kid)
      .where('state', '=', 'previous')
      .executeTakeFirst(),
  );
  return Number(result.numUpdatedRows) === 1;
}

/** A replica that signs with the key's algorithm confirms that it still does; false when the key is no longer current. */
export async function confirmKeyInUse(db: Db, kid: string, now: Date): Promise<boolean> {
  const result = await withDatabase(() =>
    db.updateTable('signing_keys').set({ in_use_at: now }).where('kid', '=', kid).where('state', '=', 'current').executeTakeFirst(),
  );
  return Number(result.numUpdatedRows) === 1;
}

/**
 * An algorithm no replica signs with any more: its current key → previous
 * (published until its tokens have expired), its next key → expired (it
 * never signed). False, and nothing changed, when the current key is no
 * longer current or a replica confirmed it after `unusedSince`.
 */
export async function retireKeys(db: Db, currentKid: string, nextKid: string | undefined, unusedSince: Date, now: Date): Promise<boolean> {
  return withDatabase(() =>
    db
      .transaction()
      .execute(async (trx) => {
        const retired = await trx
          .updateTable('signing_keys')
          .set({ state: 'previous', retired_at: now })
          .where('kid', '=', currentKid)
          .where('state', '=', 'current')
          .where(sql<boolean>`greatest(in_use_at, activated_at, published_at) <= ${unusedSince}`)
          .executeTakeFirst();
        if (Number(retired.numUpdatedRows) !== 1) return false;
        if (nextKid !== undefined) {
          await trx
            .updateTable('signing_keys')
            .set({ state: 'expired', expired_at: now, private_jwk_sealed: null })
            .where('kid', '=', nextKid)
            .where('state', '=', 'next')
            .execute();
        }
        return true;
      }),
  );
}

export type RevokeResult =
  | { readonly outcome: 'unknown' }
  | { readonly outcome: 'already-revoked' }
  | {
      readonly outcome: 'revoked';
      readonly was: KeyState;
      readonly alg: string;
      readonly replacement?: { readonly kid: string; readonly alg: string; readonly from: 'next' | 'new' };
    };

/**
 * Revokes a key at once: out of the JWKS, private part erased. When it was
 * the current key of its algorithm, in the same transaction that
 * algorithm's next key (already published) takes over, or a new key from
 * `makeKey(alg)` does; `makeKey` answers undefined for an algorithm that
 * should get no new key (then none of that algorithm signs until a replica
 * that signs with it makes one).
 */
export async function revokeKey(db: Db, kid: string, now: Date, makeKey: (alg: string) => Promise<NewKey> | undefined): Promise<RevokeResult> {
  return withDatabase(() =>
    db
      .transaction()
      .execute(async (trx): Promise<RevokeResult> => {
        const target = await trx.selectFrom('signing_keys').select(['kid', 'alg', 'state']).where('kid', '=', kid).forUpdate().executeTakeFirst();
        if (!target) return { outcome: 'unknown' };
        if (target.state === 'revoked') return { outcome: 'already-revoked' };
        await trx
          .updateTable('signing_keys')
          .set({ state: 'revoked', revoked_at: now, private_jwk_sealed: null })
          .where('kid', '=', kid)
          .execute();
        const was = target.state as KeyState;
        const { alg } = target;
        if (was !== 'current') return { outcome: 'revoked', was, alg };

        const next = await trx.selectFrom('signing_keys').select('kid').where('alg', '=', alg).where('state', '=', 'next').forUpdate().executeTakeFirst();
        if (next) {
          await trx.updateTable('signing_keys').set({ state: 'current', activated_at: now }).where('kid', '=', next.kid).execute();
          return { outcome: 'revoked', was, alg, replacement: { kid: next.kid, alg, from: 'next' } };
        }
        const making = makeKey(alg);
        if (making === undefined) return { outcome: 'revoked', was, alg };
        const key = await making;
        await trx
          .insertInto('signing_keys')
          .values({
            kid: key.kid,
            alg: key.alg,
            state: 'current',
            public_jwk: JSON.stringify(key.publicJwk),
            private_jwk_sealed: key.privateJwkSealed,
            created_at: now,
            published_at: now,
            activated_at: now,
          })
          .execute();
        return { outcome: 'revoked', was, alg, replacement: { kid: key.kid, alg: key.alg, from: 'new' } };
      }),
  );
}
