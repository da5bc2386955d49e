// Encryption at rest for secrets kept in Postgres (signing keys, Twitter
// credentials): AES-256-GCM with a random 96-bit IV. The context string is
// bound as associated data, so a ciphertext copied into another row or column
// does not decrypt.
//
// A sealed value names the key that sealed it (`v2.<key id>.<iv>.<body>.<tag>`),
// so ENCRYPTION_KEY can be rotated: new values are sealed with the current
// key, and values sealed with a key listed in ENCRYPTION_KEYS_PREVIOUS still
// open. Values written before key ids (`v1.<iv>.<body>.<tag>`) still open too.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export interface EncryptionKeys {
  /** Seals every new value. */
  readonly current: Buffer;
  /** Still open what they sealed; never used to seal. */
  readonly previous: readonly Buffer[];
}

/** A key ring, or a single key (current, nothing previous). */
export type SealingKeys = EncryptionKeys | Buffer;

function ring(keys: SealingKeys): EncryptionKeys {
  return Buffer.isBuffer(keys) ? { current: keys, previous: [] } : keys;
}

const VERSION = 'v2';
const LEGACY_VERSION = 'v1';

/** A short public name for a key: derived from it, so operators never choose or keep one. */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('roost encryption key id').digest().subarray(0, 6).toString('base64url');
}

export function encryptSecret(sealingKeys: SealingKeys, plaintext: string, context: string): string {
  const keys = ring(sealingKeys);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.current, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, keyId(keys.current), ...[iv, body, cipher.getAuthTag()].map((part) => part.toString('base64url'))].join('.');
}

export function decryptSecret(sealingKeys: SealingKeys, sealed: string, context: string): string {
  const keys = ring(sealingKeys);
  const parts = sealed.split('.');
  if (parts[0] === VERSION && parts.length === 5) {
    const [, id, iv, body, tag] = parts as [string, string, string, string, string];
    const key = [keys.current, ...keys.previous].find((candidate) => keyId(candidate) === id);
    if (!key) throw new Error(`sealed with key ${id}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS`);
    return open(key, iv, body, tag, context);
  }
  if (parts[0] === LEGACY_VERSION && parts.length === 4) {
    const [, iv, body, tag] = parts as [string, string, string, string];
    // No key id: the GCM tag tells which key (if any) sealed it.
    for (const key of [keys.current, ...keys.previous]) {
      try {
        return open(key, iv, body, tag, context);
      } catch {
        // Try the next key.
      }
    }
    throw new Error('sealed with a key that is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS');
  }
  throw new Error('sealed value has an unknown format');
}

/** True when the value is sealed with the current key, so re-sealing it would change nothing. */
export function isSealedWithCurrentKey(keys: SealingKeys, sealed: string): boolean {
  return sealed.startsWith(`${VERSION}.${keyId(ring(keys).current)}.`);
}

function open(key: Buffer, iv: string, body: string, tag: string, context: string): string {
  // A full 16-byte tag only: GCM would otherwise accept a truncated one, which is easier to forge.
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
