// JWTs in the JWS Compact Serialization (RFC 7515 §7.1), signed and verified
// with node:crypto's one-shot sign and verify. These are the hottest
// cryptographic paths (a token is signed at every sign-in and refresh and
// verified at every bearer request), and going through jose and WebCrypto
// costs about as much again as the signature itself. Only the algorithms roost's keys can
// have are known here (signing-keys.ts); the errors are jose's, so callers
// read the same codes whichever library made the decision.
import { KeyObject, createPublicKey, sign, verify, type webcrypto } from 'node:crypto';
import { errors } from 'jose';
import type { PublicJwk, SigningAlg } from './signing-keys.js';

interface Algorithm {
  /** The digest, or null where the algorithm names none (Ed25519 hashes inside, RFC 8032 §5.1). */
  readonly hash: string | null;
  /** ECDSA signatures are R || S, each 32 bytes for P-256 (RFC 7518 §3.4), not DER. */
  readonly dsaEncoding?: 'ieee-p1363';
  /** The JWK members a key of this algorithm has (RFC 7518 §6, RFC 8037 §2). */
  readonly kty: string;
  readonly crv?: string;
  /** What node:crypto calls the same key. */
  readonly keyType: 'ec' | 'rsa' | 'ed25519';
  readonly namedCurve?: string;
  /** RFC 7518 §3.3: 2048 bits or more. */
  readonly minModulusBits?: number;
  /** The signature's exact length in bytes, where the algorithm fixes it. */
  readonly signatureBytes?: number;
}

const ALGORITHMS: Readonly<Record<SigningAlg, Algorithm>> = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363', kty: 'EC', crv: 'P-256', keyType: 'ec', namedCurve: 'prime256v1', signatureBytes: 64 },
  RS256: { hash: 'sha256', kty: 'RSA', keyType: 'rsa', minModulusBits: 2048 },
  EdDSA: { hash: null, kty: 'OKP', crv: 'Ed25519', keyType: 'ed25519', signatureBytes: 64 },
};

function algorithmOf(alg: string): Algorithm | undefined {
  return Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg as SigningAlg] : undefined;
}

/**
 * The longest token accepted: the bearer routes read at most 8192 characters
 * of Authorization, and roost's longest token (an RS256 one with the sign-in
 * hook's 4096 bytes of claims) is well under it.
 */
export const MAX_COMPACT_JWS_LENGTH = 8192;

/** Three non-empty segments of the base64url alphabet, no padding (RFC 7515 §2, §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------- signing

export interface JwtSigningKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: webcrypto.CryptoKey | KeyObject;
}

/** The node:crypto view of each private key, checked once against the algorithm it signs for. */
const privateKeys = new WeakMap<object, { readonly alg: string; readonly keyObject: KeyObject }>();

function privateKeyFor(key: JwtSigningKey, algorithm: Algorithm): KeyObject {
  const cached = privateKeys.get(key.privateKey);
  if (cached?.alg === key.alg) return cached.keyObject;
  const keyObject = key.privateKey instanceof KeyObject ? key.privateKey : KeyObject.from(key.privateKey);
  if (keyObject.type !== 'private' || !fits(keyObject, algorithm)) throw new TypeError(`the signing key ${key.kid} is not a private ${key.alg} key`);
  privateKeys.set(key.privateKey, { alg: key.alg, keyObject });
  return keyObject;
}

function fits(keyObject: KeyObject, algorithm: Algorithm): boolean {
  if (keyObject.asymmetricKeyType !== algorithm.keyType) return false;
  const details = keyObject.asymmetricKeyDetails ?? {};
  if (algorithm.namedCurve !== undefined && details.namedCurve !== algorithm.namedCurve) return false;
  if (algorithm.minModulusBits !== undefined && (details.modulusLength ?? 0) < algorithm.minModulusBits) return false;
  return true;
}

/**
 * Signs `claims` as a JWT with the protected header `{alg, kid, typ}`, in
 * that order: the bytes jose's SignJWT produces for the same header and
 * claims (both are JSON.stringify of the objects, UTF-8, base64url without
 * padding). RSA signatures, which take about a millisecond, are made on the
 * libuv thread pool as WebCrypto makes them; the others inline, where the
 * hand-off would cost more than the signature.
 */
export async function signJwt(claims: object, key: JwtSigningKey, typ: string): Promise<string> {
  const algorithm = algorithmOf(key.alg);
  if (algorithm === undefined) throw new errors.JOSENotSupported(`roost does not sign with ${key.alg}`);
  if (Object.prototype.toString.call(claims) !== '[object Object]') throw new TypeError('JWT Claims Set MUST be an object');
  for (const claim of ['iat', 'nbf', 'exp']) {
    const value = (claims as Record<string, unknown>)[claim];
    // JSON.stringify would write null for these (RFC 7519 §2 NumericDate).
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`"${claim}" claim must be a finite number`);
  }
  const privateKey = privateKeyFor(key, algorithm);
  const header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ })).toString('base64url');
  const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const data = Buffer.from(signingInput, 'latin1');
  const signKey = algorithm.dsaEncoding ? { key: privateKey, dsaEncoding: algorithm.dsaEncoding } : privateKey;
  const signature =
    algorithm.keyType === 'rsa'
      ? await new Promise<Buffer>((resolve, reject) => sign(algorithm.hash, data, signKey, (error, made) => (error ? reject(error) : resolve(made))))
      : sign(algorithm.hash, data, signKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

// ---------------------------------------------------------------- verifying

interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly algorithm: Algorithm;
  readonly keyObject: KeyObject;
  /** The RSA modulus in bytes: an RS256 signature is exactly that long (RFC 8017 §8.2.2). */
  readonly signatureBytes: number | undefined;
}

/** A published key set, imported once. */
export interface VerificationKeys {
  /** The algorithms the keys declare: the only ones a token may name (RFC 8725 §3.1). */
  readonly algorithms: ReadonlySet<string>;
  readonly keys: readonly VerificationKey[];
  /** How many keys of the set declare each algorithm, usable or not: a token without `kid` needs exactly one, as with jose. */
  readonly declared: ReadonlyMap<string, number>;
}

/**
 * Imports the public keys of a published set. A key of an algorithm roost
 * does not know, or whose members do not make a key of its algorithm, is
 * left out: no token verifies with it, as none would with jose.
 */
export function importVerificationKeys(jwks: readonly PublicJwk[]): VerificationKeys {
  const keys: VerificationKey[] = [];
  const declared = new Map<string, number>();
  for (const jwk of jwks) {
    const algorithm = algorithmOf(jwk.alg);
    if (algorithm === undefined || jwk.kty !== algorithm.kty || jwk.crv !== algorithm.crv || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    declared.set(jwk.alg, (declared.get(jwk.alg) ?? 0) + 1);
    let keyObject: KeyObject;
    try {
      keyObject = createPublicKey({ key: { ...jwk }, format: 'jwk' });
    } catch {
      continue;
    }
    if (keyObject.type !== 'public' || !fits(keyObject, algorithm)) continue;
    const modulusBits = keyObject.asymmetricKeyDetails?.modulusLength;
    keys.push({
      kid: jwk.kid,
      alg: jwk.alg as SigningAlg,
      algorithm,
      keyObject,
      signatureBytes: algorithm.signatureBytes ?? (modulusBits !== undefined ? Math.ceil(modulusBits / 8) : undefined),
    });
  }
  return { algorithms: new Set(keys.map((key) => key.alg)), keys, declared };
}

export interface VerifiedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Record<string, unknown>;
}

/**
 * Checks a compact JWS whose payload is a JSON object (a JWT) against the
 * keys, and returns its header and payload; throws otherwise. Stricter than
 * RFC 7515 lets a verifier be, never looser than jose's jwtVerify with the
 * keys as a local JWKS and their algorithms as `algorithms`:
 * - exactly three segments of canonical base64url (no padding, no stray
 *   characters, no bits past the last byte), at most MAX_COMPACT_JWS_LENGTH;
 * - `alg` among the keys' algorithms (so never `none` nor an HMAC one, RFC
 *   8725 §3.1, §2.1);
 * - no `crit` at all: roost understands no extension (RFC 7515 §4.1.11), and
 *   no `b64`, whose false would make the payload unencoded (RFC 7797 §3);
 * - `kid` picks the key of that `alg`; without a `kid`, the one key of that
 *   `alg` if there is exactly one (what jose's createLocalJWKSet does);
 * - the signature is checked before the payload is read.
 */
export function verifyJwt(token: string, keys: VerificationKeys): VerifiedJws {
  if (typeof token !== 'string' || token.length > MAX_COMPACT_JWS_LENGTH || !COMPACT_JWS.test(token)) throw new errors.JWSInvalid('Invalid Compact JWS');
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');
  const header = parseJsonObject(token.slice(0, firstDot), () => new errors.JWSInvalid('JWS Protected Header is invalid'));

  if (Object.hasOwn(header, 'crit')) throw new errors.JOSENotSupported('roost understands no "crit" (Critical) Header Parameter');
  if (Object.hasOwn(header, 'b64')) throw new errors.JWTInvalid('JWTs MUST NOT use the "b64" Header Parameter');
  const { alg } = header;
  if (typeof alg !== 'string' || !alg) throw new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  if (!keys.algorithms.has(alg)) throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');

  const named = Object.hasOwn(header, 'kid');
  if (!named && (keys.declared.get(alg) ?? 0) > 1) throw new errors.JWKSMultipleMatchingKeys();
  const { kid } = header;
  let key: VerificationKey | undefined;
  for (const candidate of keys.keys) {
    if (candidate.alg !== alg || (named && candidate.kid !== kid)) continue;
    if (key !== undefined) throw new errors.JWKSMultipleMatchingKeys();
    key = candidate;
  }
  if (key === undefined) throw new errors.JWKSNoMatchingKey();

  const signature = decodeSegment(token.slice(lastDot + 1), () => new errors.JWSInvalid('Failed to base64url decode the signature'));
  if (key.signatureBytes !== undefined && signature.length !== key.signatureBytes) throw new errors.JWSSignatureVerificationFailed();
  const verifyKey = key.algorithm.dsaEncoding ? { key: key.keyObject, dsaEncoding: key.algorithm.dsaEncoding } : key.keyObject;
  let verified: boolean;
  try {
    verified = verify(key.algorithm.hash, Buffer.from(token.slice(0, lastDot), 'latin1'), verifyKey, signature);
  } catch (cause) {
    throw new errors.JWSSignatureVerificationFailed(undefined, { cause });
  }
  if (!verified) throw new errors.JWSSignatureVerificationFailed();

  const payload = parseJsonObject(token.slice(firstDot + 1, lastDot), () => new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object'));
  return { header, payload };
}

/** base64url as RFC 7515 §2 writes it: the one encoding of the bytes, so no two strings pass for the same segment. */
function decodeSegment(segment: string, invalid: () => Error): Buffer {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) throw invalid();
  return bytes;
}

function parseJsonObject(segment: string, invalid: () => Error): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(decodeSegment(segment, invalid)));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  return parsed as Record<string, unknown>;
}
