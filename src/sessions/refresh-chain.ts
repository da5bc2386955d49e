// The secret the refresh token chain is keyed with (refresh-tokens.ts): 32
// random bytes made once per deployment and kept in Postgres, sealed with
// ENCRYPTION_KEY. It stays the same when ENCRYPTION_KEY rotates, so replicas
// on either side of a rolling rotation derive the same next token, and a
// refresh repeated on another replica within the grace window is a repeat,
// not reuse. Re-sealed with the current ENCRYPTION_KEY by keys/reseal.ts.
import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, type EncryptionKeys } from '../keys/crypto-box.js';
import { storedSecretContext } from '../keys/reseal.js';
import { withDatabase, type Db } from '../store/db.js';
import { legacyChainKey } from './refresh-tokens.js';

export const REFRESH_CHAIN_SECRET = 'refresh_token_chain';

export interface RefreshChain {
  /** Keys every rotation. */
  readonly key: Buffer;
  /**
   * The keys earlier versions derived from ENCRYPTION_KEY and each of
   * ENCRYPTION_KEYS_PREVIOUS: a refresh repeated within the grace window of a
   * rotation such a version made is still answered with the token it made.
   */
  readonly legacyKeys: readonly Buffer[];
}

/**
 * Reads the chain secret, making it first if there is none. Replicas
 * starting together may each make one: the first insert wins, the others
 * insert nothing, and all read back the same row.
 */
export async function loadRefreshChain(db: Db, keys: EncryptionKeys): Promise<RefreshChain> {
  const context = storedSecretContext(REFRESH_CHAIN_SECRET);
  const made = encryptSecret(keys, randomBytes(32).toString('base64url'), context);
  const row = await withDatabase(async () => {
    await db
      .insertInto('sealed_secrets')
      .values({ name: REFRESH_CHAIN_SECRET, sealed: made })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return db.selectFrom('sealed_secrets').select('sealed').where('name', '=', REFRESH_CHAIN_SECRET).executeTakeFirstOrThrow();
  });
  let secret: string;
  try {
    secret = decryptSecret(keys, row.sealed, context);
  } catch (error) {
    throw new Error(
      'the refresh token chain secret in Postgres cannot be opened with ENCRYPTION_KEY or ENCRYPTION_KEYS_PREVIOUS: set ENCRYPTION_KEYS_PREVIOUS to the key it was sealed with',
      { cause: error },
    );
  }
  return {
    key: Buffer.from(secret, 'base64url'),
    legacyKeys: [keys.current, ...keys.previous].map(legacyChainKey),
  };
}
