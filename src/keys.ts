// Signing keys: generated once, kept in Postgres with the private part
// sealed, so every replica signs with the same key and publishes one JWKS.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { decryptSecret, encryptSecret } from './crypto-box.js';
import { withDatabase, type Db } from './db.js';

export const SIGNING_ALG = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

export interface PublicJwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
}

/**
 * The public members only, picked rather than deleted from the private JWK,
 * so no private member can slip into the JWKS (RFC 7517 §4, RFC 7518 §6).
 */
export function toPublicJwk(jwk: JWK, kid: string, alg: string): PublicJwk {
  const picked: Record<string, string> = {};
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e'] as const) {
    const value = jwk[member];
    if (typeof value === 'string') picked[member] = value;
  }
  if (!picked.kty) throw new Error('JWK has no kty');
  return { ...(picked as { kty: string }), kid, alg, use: 'sig' };
}

/** The current signing key; the first replica to start creates it, the others read it. */
export async function loadSigningKey(db: Db, encryptionKey: Buffer): Promise<SigningKey> {
  const existing = await readCurrentKey(db);
  if (existing) return unseal(existing, encryptionKey);
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  // RFC 7638 thumbprint of the public key: stable and derived, never chosen.
  const kid = await calculateJwkThumbprint(privateJwk, 'sha256');
  const publicJwk = toPublicJwk(privateJwk, kid, SIGNING_ALG);
  await withDatabase(() =>
    db
      .insertInto('signing_keys')
      .values({
        kid,
        alg: SIGNING_ALG,
        state: 'current',
        public_jwk: JSON.stringify(publicJwk),
        private_jwk_sealed: encryptSecret(encryptionKey, JSON.stringify(privateJwk), `signing_key:${kid}`),
      })
      // Another replica won the race: the unique index on the current key refuses this one.
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
  const current = await readCurrentKey(db);
  if (!current) throw new Error('no current signing key after creating one');
  return unseal(current, encryptionKey);
}

function readCurrentKey(db: Db) {
  return withDatabase(() =>
    db.selectFrom('signing_keys').selectAll().where('state', '=', 'current').executeTakeFirst(),
  );
}

async function unseal(
  row: { kid: string; alg: string; public_jwk: Record<string, unknown>; private_jwk_sealed: string },
  encryptionKey: Buffer,
): Promise<SigningKey> {
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(decryptSecret(encryptionKey, row.private_jwk_sealed, `signing_key:${row.kid}`)) as JWK;
  } catch (error) {
    throw new Error(`signing key ${row.kid} cannot be decrypted: is ENCRYPTION_KEY the one it was created with?`, { cause: error });
  }
  const privateKey = (await importJWK(privateJwk, row.alg)) as CryptoKey;
  return { kid: row.kid, alg: row.alg, privateKey, publicJwk: row.public_jwk as unknown as PublicJwk };
}

export function buildJwks(keys: readonly SigningKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}
