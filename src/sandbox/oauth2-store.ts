// The sandbox's OAuth 2.0 memory: authorization codes, and the grants they
// become with their access and refresh tokens. Maps with expiry read from the
// injected clock; a sweep and hard caps keep memory bounded.
import { randomBytes } from 'node:crypto';

/** X: "the authorization code … must be used within 30 seconds". */
export const AUTHORIZATION_CODE_TTL_MS = 30 * 1000;
/** X's user access tokens last two hours. */
export const ACCESS_TOKEN_TTL_SECONDS = 2 * 60 * 60;
const MAX_CODES = 10_000;
const MAX_TOKENS = 100_000;
const SWEEP_INTERVAL_MS = 10_000;

export interface AuthorizationCode {
  readonly code: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly userId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

/** What one approval granted; every token issued from it points here, so one flag ends them all. */
export interface Grant {
  readonly clientId: string;
  readonly userId: string;
  readonly scopes: readonly string[];
  revoked: boolean;
}

export interface BearerToken {
  readonly token: string;
  readonly grant: Grant;
  readonly expiresAt: number;
}

export interface RefreshToken {
  readonly token: string;
  readonly grant: Grant;
}

export interface IssuedTokens {
  readonly access: BearerToken;
  /** Only when the grant holds offline.access. */
  readonly refresh: RefreshToken | undefined;
}

export type CodeTake = { readonly kind: 'fresh'; readonly entry: AuthorizationCode } | { readonly kind: 'replayed' } | { readonly kind: 'unknown' };

export interface OAuth2Store {
  issueCode(fields: Omit<AuthorizationCode, 'code' | 'expiresAt'>): AuthorizationCode;
  /**
   * Takes a code: the first presentation consumes it, right or wrong. A later
   * one while it would still have been live ends the grant it was exchanged
   * for (RFC 6749 §4.1.2: a code used twice revokes what it gave).
   */
  takeCode(code: string): CodeTake;
  /** Opens the grant a code was exchanged for and issues its first tokens. */
  exchangeCode(entry: AuthorizationCode): IssuedTokens;
  /** Takes a live refresh token: each is used once, and the answer carries the next one. */
  takeRefreshToken(token: string): RefreshToken | undefined;
  /** New tokens on a grant that is still open (refresh rotation). */
  issueTokens(grant: Grant): IssuedTokens;
  /** A live access token of an open grant. */
  findAccessToken(token: string): BearerToken | undefined;
  /**
   * RFC 7009: revokes an access token, or a refresh token and with it its
   * whole grant; only the client the token was issued to may. Unknown tokens
   * are ignored (§2.2).
   */
  revoke(token: string, clientId: string): void;
  /** Entry counts, so tests can check that memory stays bounded. */
  size(): { codes: number; usedCodes: number; accessTokens: number; refreshTokens: number };
}

export function createOAuth2Store(now: () => number): OAuth2Store {
  const codes = new Map<string, AuthorizationCode>();
  // Codes already taken, kept while they would have been live, with the grant each became (if any).
  const usedCodes = new Map<string, { expiresAt: number; grant: Grant | undefined }>();
  const accessTokens = new Map<string, BearerToken>();
  const refreshTokens = new Map<string, RefreshToken>();
  let nextSweep = 0;

  const sweep = () => {
    const time = now();
    if (time < nextSweep) return;
    nextSweep = time + SWEEP_INTERVAL_MS;
    for (const [key, entry] of codes) if (entry.expiresAt <= time) codes.delete(key);
    for (const [key, entry] of usedCodes) if (entry.expiresAt <= time) usedCodes.delete(key);
    for (const [key, entry] of accessTokens) if (entry.expiresAt <= time || entry.grant.revoked) accessTokens.delete(key);
    for (const [key, entry] of refreshTokens) if (entry.grant.revoked) refreshTokens.delete(key);
  };

  // Maps iterate in insertion order, so the first key is the oldest entry.
  const capOldest = (map: Map<string, unknown>, max: number) => {
    while (map.size > max) map.delete(map.keys().next().value as string);
  };

  const issueTokens = (grant: Grant): IssuedTokens => {
    sweep();
    const access: BearerToken = { token: randomToken(), grant, expiresAt: now() + ACCESS_TOKEN_TTL_SECONDS * 1000 };
    accessTokens.set(access.token, access);
    capOldest(accessTokens, MAX_TOKENS);
    let refresh: RefreshToken | undefined;
    if (grant.scopes.includes('offline.access')) {
      refresh = { token: randomToken(), grant };
      refreshTokens.set(refresh.token, refresh);
      capOldest(refreshTokens, MAX_TOKENS);
    }
    return { access, refresh };
  };

  return {
    issueCode(fields) {
      sweep();
      const entry: AuthorizationCode = { ...fields, code: randomToken(), expiresAt: now() + AUTHORIZATION_CODE_TTL_MS };
      codes.set(entry.code, entry);
      capOldest(codes, MAX_CODES);
      return entry;
    },
    takeCode(code) {
      sweep();
      const time = now();
      const entry = codes.get(code);
      if (entry !== undefined) {
        codes.delete(code);
        if (entry.expiresAt <= time) return { kind: 'unknown' };
        usedCodes.set(code, { expiresAt: entry.expiresAt, grant: undefined });
        capOldest(usedCodes, MAX_CODES);
        return { kind: 'fresh', entry };
      }
      const used = usedCodes.get(code);
      if (used === undefined || used.expiresAt <= time) return { kind: 'unknown' };
      if (used.grant !== undefined) used.grant.revoked = true;
      return { kind: 'replayed' };
    },
    exchangeCode(entry) {
      const grant: Grant = { clientId: entry.clientId, userId: entry.userId, scopes: entry.scopes, revoked: false };
      const used = usedCodes.get(entry.code);
      if (used !== undefined) used.grant = grant;
      return issueTokens(grant);
    },
    takeRefreshToken(token) {
      sweep();
      const entry = refreshTokens.get(token);
      if (entry === undefined) return undefined;
      refreshTokens.delete(token);
      return entry.grant.revoked ? undefined : entry;
    },
    issueTokens,
    findAccessToken(token) {
      sweep();
      const entry = accessTokens.get(token);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= now() || entry.grant.revoked) {
        accessTokens.delete(token);
        return undefined;
      }
      return entry;
    },
    revoke(token, clientId) {
      const access = accessTokens.get(token);
      if (access !== undefined && access.grant.clientId === clientId) accessTokens.delete(token);
      const refresh = refreshTokens.get(token);
      if (refresh !== undefined && refresh.grant.clientId === clientId) {
        refreshTokens.delete(token);
        refresh.grant.revoked = true;
      }
    },
    size() {
      sweep();
      return { codes: codes.size, usedCodes: usedCodes.size, accessTokens: accessTokens.size, refreshTokens: refreshTokens.size };
    },
  };
}

/** 192 random bits, base64url: safe in URLs, headers and form bodies without escaping. */
function randomToken(): string {
  return randomBytes(24).toString('base64url');
}
