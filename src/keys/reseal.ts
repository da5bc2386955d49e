// After ENCRYPTION_KEY rotates, what is sealed with an earlier key (signing
// keys, the secrets roost makes for itself) is sealed again with the current
// one at start, so the earlier key can leave ENCRYPTION_KEYS_PREVIOUS once
// every replica runs with the new one.
// (Twitter credentials are re-sealed at each user's next sign-in.)
import { decryptSecret, encryptSecret, isSealedWithCurrentKey, type EncryptionKeys } from './crypto-box.js';
import { withDatabase, type Db } from '../store/db.js';

/** One sealed value, where it is stored and what it is bound to. */
interface SealedRow {
  readonly id: string;
  readonly sealed: string;
  readonly context: string;
}

/**
 * Re-seals each row not sealed with the current key, writing it back only if
 * no other replica changed it meanwhile; returns the ids re-sealed. A value
 * no configured key opens is reported and left alone.
 */
async function resealRows(
  rows: readonly SealedRow[],
  keys: EncryptionKeys,
  write: (row: SealedRow, resealed: string) => Promise<boolean>,
  onUnreadable: (id: string) => void,
): Promise<string[]> {
  const resealed: string[] = [];
  for (const row of rows) {
    if (isSealedWithCurrentKey(keys, row.sealed)) continue;
    let plaintext: string;
    try {
      plaintext = decryptSecret(keys, row.sealed, row.context);
    } catch {
      onUnreadable(row.id);
      continue;
    }
    if (await write(row, encryptSecret(keys, plaintext, row.context))) resealed.push(row.id);
  }
  return resealed;
}

/** The signing keys' private parts; returns the kids re-sealed. */
export async function resealSigningKeys(db: Db, keys: EncryptionKeys, onUnreadable: (kid: string) => void): Promise<string[]> {
  const rows = await withDatabase(() => db.selectFrom('signing_keys').select(['kid', 'private_jwk_sealed']).execute());
  // Keys that left the JWKS keep no private part.
  const sealed = rows.flatMap((row) => (row.private_jwk_sealed === null ? [] : [{ id: row.kid, sealed: row.private_jwk_sealed, context: `signing_key:${row.kid}` }]));
  return resealRows(
    sealed,
    keys,
    async (row, resealed) => {
      const result = await withDatabase(() =>
        db.updateTable('signing_keys').set({ private_jwk_sealed: resealed }).where('kid', '=', row.id).where('private_jwk_sealed', '=', row.sealed).executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },
    onUnreadable,
  );
}

/** What a row of sealed_secrets is sealed to: its name, so a value copied into another row does not open. */
export function storedSecretContext(name: string): string {
  return `sealed_secret:${name}`;
}

/** The rows of sealed_secrets; returns the names re-sealed. */
export async function resealStoredSecrets(db: Db, keys: EncryptionKeys, onUnreadable: (name: string) => void): Promise<string[]> {
  const rows = await withDatabase(() => db.selectFrom('sealed_secrets').select(['name', 'sealed']).execute());
  return resealRows(
    rows.map((row) => ({ id: row.name, sealed: row.sealed, context: storedSecretContext(row.name) })),
    keys,
    async (row, resealed) => {
      const result = await withDatabase(() =>
        db.updateTable('sealed_secrets').set({ sealed: resealed }).where('name', '=', row.id).where('sealed', '=', row.sealed).executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },
    onUnreadable,
  );
}
