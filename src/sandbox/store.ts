// The sandbox provider's memory: request tokens, seen nonces and access
// tokens. Everything is in Maps with expiry read from the injected clock; a
// sweep and hard caps keep memory bounded however many requests arrive.
import { randomBytes } from 'node:crypto';

/** Twitter's request tokens live for minutes; the sandbox allows ten. */
export const REQUEST_TOKEN_TTL_MS = 10 * 60 * 1000;
const MAX_REQUEST_TOKENS = 10_000;
const MAX_NONCES = 100_000;
const SWEEP_INTERVAL_MS = 10_000;

export interface RequestToken {
  readonly token: string;
  readonly secret: string;
  readonly callback: string;
  readonly expiresAt: number;
  /** Set once the user approved on the authenticate page (RFC 5849 §2.2). */
  approval: { readonly userId: string; readonly verifier: string } | undefined;
}

export interface AccessToken {
  readonly token: string;
  readonly secret: string;
  readonly userId: string;
}

export interface SandboxStore {
  issueRequestToken(callback: string): RequestToken;
  /** A live request token the user has not decided on yet. */
  findUndecidedRequestToken(token: string): RequestToken | undefined;
  /** A live request token, decided or not. */
  findRequestToken(token: string): RequestToken | undefined;
  /** Records an approval and returns the verifier to hand to the client. */
  approve(entry: RequestToken, userId: string): string;
  /**
   * Forgets a request token: refused, or exchanged (each one is exchanged at
   * most once). Called in the same tick as the lookup, so find-then-forget is atomic.
   */
  forgetRequestToken(entry: RequestToken): void;
  /** False when the same nonce was already used (RFC 5849 §3.3); `expiresAt` is when its timestamp goes stale. */
  rememberNonce(key: string, expiresAt: number): boolean;
  /** Like Twitter, one access token per user, handed out again on every sign-in. */
  accessTokenFor(userId: string): AccessToken;
  findAccessToken(token: string): AccessToken | undefined;
  /** Revokes an access token: it is unknown from then on, and the user's next sign-in gets a new one. */
  revokeAccessToken(entry: AccessToken): void;
  /** Entry counts, so tests can check that memory stays bounded. */
  size(): { requestTokens: number; nonces: number; accessTokens: number };
}

export function createSandboxStore(now: () => number): SandboxStore {
  const requestTokens = new Map<string, RequestToken>();
  const nonces = new Map<string, number>();
  const accessTokens = new Map<string, AccessToken>();
  const accessTokenByUser = new Map<string, AccessToken>();
  let nextSweep = 0;

  const sweep = () => {
    const time = now();
    if (time < nextSweep) return;
    nextSweep = time + SWEEP_INTERVAL_MS;
    for (const [key, entry] of requestTokens) if (entry.expiresAt <= time) requestTokens.delete(key);
    for (const [key, expiresAt] of nonces) if (expiresAt <= time) nonces.delete(key);
  };

  // Maps iterate in insertion order, so the first key is the oldest entry.
  const capOldest = (map: Map<string, unknown>, max: number) => {
    while (map.size > max) map.delete(map.keys().next().value as string);
  };

  const live = (token: string) => {
    sweep();
    const entry = requestTokens.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      requestTokens.delete(token);
      return undefined;
    }
    return entry;
  };

  return {
    issueRequestToken(callback) {
      sweep();
      const entry: RequestToken = {
        token: randomToken(),
        secret: randomToken(),
        callback,
        expiresAt: now() + REQUEST_TOKEN_TTL_MS,
        approval: undefined,
      };
      requestTokens.set(entry.token, entry);
      capOldest(requestTokens, MAX_REQUEST_TOKENS);
      return entry;
    },
    findUndecidedRequestToken(token) {
      const entry = live(token);
      return entry?.approval === undefined ? entry : undefined;
    },
    findRequestToken: live,
    approve(entry, userId) {
      const verifier = randomToken();
      entry.approval = { userId, verifier };
      return verifier;
    },
    forgetRequestToken(entry) {
      requestTokens.delete(entry.token);
    },
    rememberNonce(key, expiresAt) {
      sweep();
      const seen = nonces.get(key);
      if (seen !== undefined && seen > now()) return false;
      nonces.set(key, expiresAt);
      // Past the cap the oldest nonces go first: a flood could then replay one
      // of them, which a local stand-in accepts in exchange for bounded memory.
      capOldest(nonces, MAX_NONCES);
      return true;
    },
    accessTokenFor(userId) {
      let entry = accessTokenByUser.get(userId);
      if (entry === undefined) {
        // Twitter's access tokens start with the user id; roost must not rely on it, but it looks real.
        entry = { token: `${userId}-${randomToken()}`, secret: randomToken(), userId };
        accessTokenByUser.set(userId, entry);
        accessTokens.set(entry.token, entry);
      }
      return entry;
    },
    findAccessToken(token) {
      return accessTokens.get(token);
    },
    revokeAccessToken(entry) {
      accessTokens.delete(entry.token);
      if (accessTokenByUser.get(entry.userId) === entry) accessTokenByUser.delete(entry.userId);
    },
    size() {
      sweep();
      return { requestTokens: requestTokens.size, nonces: nonces.size, accessTokens: accessTokens.size };
    },
  };
}

/** 192 random bits, base64url: safe in URLs, headers and form bodies without escaping. */
function randomToken(): string {
  return randomBytes(24).toString('base64url');
}
