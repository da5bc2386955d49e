// Key material: generating a signing key for the configured algorithm, its
// public JWK and kid, sealing the private part for Postgres and opening it.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { decryptSecret, encryptSecret, type SealingKeys } from './crypto-box.js';

/** The algorithms roost signs with (JWT_ALG); ES256 is the default. */
export const SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';

export function isSigningAlg(value: string): value is SigningAlg {
  return (SIGNING_ALGS as readonly string[]).includes(value);
}

/**
 * The algorithms a replica keeps a signing key for: `primary` (JWT_ALG, the
 * access tokens') first, then `extra` (the ID tokens' algorithms the OIDC
 * clients ask for) without repeats. The server's key ring and the keys
 * command both take their set from here, so they agree on it.
 */
export function signingAlgorithms(primary: SigningAlg, extra: readonly SigningAlg[] = []): readonly SigningAlg[] {
  for (const alg of [primary, ...extra]) {
    if (!isSigningAlg(alg)) throw new Error(`${String(alg)} is not a signing algorithm roost has (${SIGNING_ALGS.join(', ')})`);
  }
  return [...new Set([primary, ...extra])];
}

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

/** A freshly generated key, ready to be stored: the private JWK is sealed. */
export interface NewKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly publicJwk: PublicJwk;
  readonly privateJwkSealed: string;
}

/**
 * The public members only, picked rather than deleted from the private JWK,
 * so no private member can slip into the JWKS (RFC 7517 §4, RFC 7518 §6,
 * RFC 8037 §2). The member order is fixed, so every replica serialises a key
 * to the same bytes.
 */
export function toPublicJwk(jwk: JWK | Record<string, unknown>, kid: string, alg: string): PublicJwk {
  const picked: Record<string, string> = {};
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e'] as const) {
    const value = jwk[member];
    if (typeof value === 'string') picked[member] = value;
  }
  if (!picked.kty) throw new Error('JWK has no kty');
  return { ...(picked as { kty: string }), kid, alg, use: 'sig' };
}

/** Generates a key pair; kid is the RFC 7638 SHA-256 thumbprint of the public key. */
export async function generateSigningKey(alg: SigningAlg, encryptionKey: SealingKeys): Promise<NewKey> {
  // Ed25519 is the only EdDSA curve roost uses (RFC 8037); RSA keys are 2048 bits (RFC 7518 §3.3).
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : alg === 'RS256' ? { modulusLength: 2048, extractable: true } : { extractable: true };
  const { privateKey } = await generateKeyPair(alg, options);
  const privateJwk = await exportJWK(privateKey);
  // Derived from the key, never chosen: the same key always has the same kid.
  const kid = await calculateJwkThumbprint(privateJwk, 'sha256');
  return {
    kid,
    alg,
    publicJwk: toPublicJwk(privateJwk, kid, alg),
    privateJwkSealed: encryptSecret(encryptionKey, JSON.stringify(privateJwk), sealContext(kid)),
  };
}

/** Opens a stored key for signing. */
export async function openSigningKey(
  row: { kid: string; alg: string; public_jwk: Record<string, unknown>; private_jwk_sealed: string | null },
  encryptionKey: SealingKeys,
): Promise<SigningKey> {
  if (row.private_jwk_sealed === null) throw new Error(`signing key ${row.kid} has no private part left`);
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(decryptSecret(encryptionKey, row.private_jwk_sealed, sealContext(row.kid))) as JWK;
  } catch (error) {
    throw new Error(`signing key ${row.kid} cannot be decrypted: is ENCRYPTION_KEY (or one of ENCRYPTION_KEYS_PREVIOUS) the one it was sealed with?`, { cause: error });
  }
  const privateKey = (await importJWK(privateJwk, row.alg)) as CryptoKey;
  return { kid: row.kid, alg: row.alg, privateKey, publicJwk: toPublicJwk(row.public_jwk, row.kid, row.alg) };
}

/** Why a key did not open, in the words of the innermost error (which names the encryption key that sealed it). */
export function whyUnopenable(error: unknown): string {
  let why = error;
  while (why instanceof Error && why.cause instanceof Error) why = why.cause;
  return why instanceof Error ? why.message : String(why);
}

/** The sealed private JWK is bound to its kid, so it cannot be moved to another row. */
function sealContext(kid: string): string {
  return `signing_key:${kid}`;
}
