// After ENCRYPTION_KEY rotates, what is sealed with an earlier key (signing
// keys, the secrets roost makes for itself) is sealed again with the current
// one at start, so the earlier key can leave ENCRYPTION_KEYS_PREVIOUS once
// every replica runs with the new one.
// (Twitter credentials are re-sealed at each user's next sign-in.)
import { decryptSecret, encryptSecret, isSealedWithCurrentKey, type EncryptionKeys } from './crypto-box.js';
import { withDatabase, type Db } from '../store/db.js';

/** Re-seals what needs it; returns the kids re-sealed. A key no configured key opens is reported and left alone. */
export async function resealSigningKeys(db: Db, keys: EncryptionKeys, onUnreadable: (kid: string) => void): Promise<string[]> {
  const rows = await withDatabase(() => db.selectFrom('signing_keys').select(['kid', 'private_jwk_sealed']).execute());
  const resealed: string[] = [];
  for (const row of rows) {
    // Keys that left the JWKS keep no private part.
    if (row.private_jwk_sealed === null || isSealedWithCurrentKey(keys, row.private_jwk_sealed)) continue;
    const context = `signing_key:${row.kid}`;
    let plaintext: string;
    try {
      plaintext = decryptSecret(keys, row.private_jwk_sealed, context);
    } catch {
      onUnreadable(row.kid);
      continue;
    }
    // Only if no other replica changed it meanwhile.
    const result = await withDatabase(() =>
      db
        .updateTable('signing_keys')
        .set({ private_jwk_sealed: encryptSecret(keys, plaintext, context) })
        .where('kid', '=', row.kid)
        .where('private_jwk_sealed', '=', row.private_jwk_sealed as string)
        .executeTakeFirst(),
    );
    if (result.numUpdatedRows > 0n) resealed.push(row.kid);
  }
  return resealed;
}

/** What a row of sealed_secrets is sealed to: its name, so a value copied into another row does not open. */
export function storedSecretContext(name: string): string {
  return `sealed_secret:${name}`;
}

/** resealSigningKeys for the rows of sealed_secrets; returns the names re-sealed. */
export async function resealStoredSecrets(db: Db, keys: EncryptionKeys, onUnreadable: (name: string) => void): Promise<string[]> {
  const rows = await withDatabase(() => db.selectFrom('sealed_secrets').select(['name', 'sealed']).execute());
  const resealed: string[] = [];
  for (const row of rows) {
    if (isSealedWithCurrentKey(keys, row.sealed)) continue;
    const context = storedSecretContext(row.name);
    let plaintext: string;
    try {
      plaintext = decryptSecret(keys, row.sealed, context);
    } catch {
      onUnreadable(row.name);
      continue;
    }
    const result = await withDatabase(() =>
      db
        .updateTable('sealed_secrets')
        .set({ sealed: encryptSecret(keys, plaintext, context) })
        .where('name', '=', row.name)
        .where('sealed', '=', row.sealed)
        .executeTakeFirst(),
    );
    if (result.numUpdatedRows > 0n) resealed.push(row.name);
  }
  return resealed;
}
