// Access tokens already verified, recognised again by a hash of the whole
// token: an app that calls /me with the same token many times pays for one
// signature check, not one per call. What a verification decides depends
// only on the token, the published key set and the clock, so an entry is
// good while all three allow it: it is dropped when the key set changes (a
// revoked key's tokens fail at once), at the token's `exp`, and after
// VERIFIED_TOKEN_CACHE_MS whatever the `exp`. Whether the token's session is
// still live is not cached here: the session check answers that on every
// request (session-check.ts).
import { createHash } from 'node:crypto';
import type { AccessClaims, AccessTokenVerifier } from '../keys/access-tokens.js';

export const VERIFIED_TOKEN_CACHE_MS = 60_000;
export const VERIFIED_TOKEN_CACHE_ENTRIES = 10_000;

export interface VerifiedTokenCacheOptions {
  /** The key set the verifier checks against; a different object empties the cache. */
  readonly keySet: () => unknown;
  readonly maxEntries?: number;
  readonly maxAgeMs?: number;
}

/** The verifier, in front of it the tokens it accepted. Failures are never cached: a token that fails is checked again each time. */
export function cacheVerifiedTokens(verify: AccessTokenVerifier, options: VerifiedTokenCacheOptions): AccessTokenVerifier {
  const maxEntries = options.maxEntries ?? VERIFIED_TOKEN_CACHE_ENTRIES;
  const maxAgeMs = options.maxAgeMs ?? VERIFIED_TOKEN_CACHE_MS;
  const entries = new Map<string, { readonly claims: AccessClaims; readonly from: number; readonly until: number }>();
  let entriesFor: unknown;
  return async (token, nowMs) => {
    const keySet = options.keySet();
    if (keySet !== entriesFor) {
      entries.clear();
      entriesFor = keySet;
    }
    // SHA-256 of the token as it came: any altered byte (header, claims or
    // signature) is another key, and the token itself is never kept.
    const key = createHash('sha256').update(token).digest('base64url');
    const entry = entries.get(key);
    // A clock that went back is not trusted with an earlier answer.
    if (entry !== undefined && nowMs >= entry.from && nowMs < entry.until) return entry.claims;
    if (entry !== undefined) entries.delete(key);
    const claims = Object.freeze(await verify(token, nowMs));
    // A key set that changed while the verification ran leaves nothing behind.
    if (options.keySet() === entriesFor) {
      // RFC 7519 §4.1.4: the token is refused from the second `exp` on.
      entries.set(key, { claims, from: nowMs, until: Math.min(claims.exp * 1000, nowMs + maxAgeMs) });
      // Maps keep insertion order: the first key is the oldest entry.
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    }
    return claims;
  };
}
