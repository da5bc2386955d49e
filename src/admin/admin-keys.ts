// The admin API's keys (ADMIN_API_KEYS). A presented key is hashed with
// SHA-256 and compared with the hash of every configured key in constant
// time: hashing first makes every comparison the same length, so neither the
// time taken nor an early exit says how long a key is or how much of it
// matched. Every configured key is compared, even after a match.
// A key is named by its id, the first 12 hex digits of its SHA-256: enough to
// tell an operator's keys apart in the audit log and the logs, and useless
// for finding the key itself.
import { createHash, timingSafeEqual } from 'node:crypto';

export const ADMIN_KEY_ID_LENGTH = 12;

export interface AdminKeyring {
  /** The id of the configured key `presented` is, or undefined when it is none of them. */
  match(presented: string): string | undefined;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The public name of a key: a prefix of its SHA-256 in hex. */
export function adminKeyId(key: string): string {
  return sha256(key).toString('hex').slice(0, ADMIN_KEY_ID_LENGTH);
}

export function createAdminKeyring(keys: readonly string[]): AdminKeyring {
  const known = keys.map((key) => ({ digest: sha256(key), id: adminKeyId(key) }));
  return {
    match(presented) {
      const digest = sha256(presented);
      let found: string | undefined;
      for (const key of known) {
        if (timingSafeEqual(digest, key.digest) && found === undefined) found = key.id;
      }
      return found;
    },
  };
}
