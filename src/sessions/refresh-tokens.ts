// Refresh tokens: opaque, 256 random bits, stored only as their SHA-256
// (a fast hash is enough for a secret this long: no dictionary to try).
// Each rotation derives the next token from the one presented with a keyed
// HMAC, so a refresh repeated within the grace window can be answered with
// the same new token without roost ever storing a token.
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function isWellFormedRefreshToken(value: string): boolean {
  return TOKEN.test(value);
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The key of the rotation chain, derived from ENCRYPTION_KEY so every replica derives the same tokens. */
export function refreshChainKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'roost refresh token chain v1', 32));
}

/** The token that replaces `parent`. Without the chain key it cannot be computed from the parent. */
export function nextRefreshToken(chainKey: Buffer, parent: string): string {
  return createHmac('sha256', chainKey).update(parent).digest('base64url');
}
