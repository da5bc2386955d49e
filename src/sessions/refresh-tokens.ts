// Refresh tokens: opaque, 256 bits, stored only as their SHA-256 (a fast
// hash is enough for a secret this long: no dictionary to try).
//
// A token is two halves of 128 bits. The first is the session's family
// tag, random at sign-in and kept by every rotation: any token of a session,
// however old, names its session by it, so a token rotated away long ago is
// still recognised as reuse once its spent hash is no longer kept. The second
// half of each next token is a keyed HMAC of the one presented, so a refresh
// repeated within the grace window is answered with the same new token
// without roost ever storing a token.
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const HALF = 16;

export function newRefreshToken(): string {
  return randomBytes(2 * HALF).toString('base64url');
}

export function isWellFormedRefreshToken(value: string): boolean {
  return TOKEN.test(value);
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The hash of the token's family tag: what its session stores to be found by any of its tokens. */
export function refreshFamily(token: string): string {
  return createHash('sha256').update(familyTag(token)).digest('base64url');
}

/** The token that replaces `parent`: the same family, and a half that cannot be computed without the chain key. */
export function nextRefreshToken(chainKey: Buffer, parent: string): string {
  const half = createHmac('sha256', chainKey).update(parent).digest().subarray(0, HALF);
  return Buffer.concat([familyTag(parent), half]).toString('base64url');
}

function familyTag(token: string): Buffer {
  return Buffer.from(token, 'base64url').subarray(0, HALF);
}

/**
 * The chain key earlier versions derived from ENCRYPTION_KEY, and the token
 * they derived with it. A refresh repeated within the grace window of a
 * rotation made by such a version is still answered (see grants.ts).
 */
export function legacyChainKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'roost refresh token chain v1', 32));
}

export function legacyNextRefreshToken(legacyKey: Buffer, parent: string): string {
  return createHmac('sha256', legacyKey).update(parent).digest('base64url');
}
