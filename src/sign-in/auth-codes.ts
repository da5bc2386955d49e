// Authorization codes of the PKCE mode (RFC 6749 §4.1.2, RFC 7636):
// random, single-use (the flow store's atomic claim), at most 60 seconds
// old, and bound to the PKCE challenge and the redirect URI. Stored under a
// hash of the code, so codes never appear in Redis key listings; a
// registered client's code under a hash of the client_id and the code, so
// only a request that authenticated as that client can find it, and no one
// else can spend it.
import { createHash, randomBytes } from 'node:crypto';
import type { FlowStore } from './flow-store.js';

/** RFC 6749 §4.1.2 recommends at most 10 minutes; a browser app redeems its code within a second. */
export const CODE_TTL_SECONDS = 60;
/** How long a redeemed code is remembered, in its own place, so that a replay can end the session it opened (§4.1.2). */
const REDEEMED_TTL_SECONDS = 600;
const CODE = /^[A-Za-z0-9_-]{43}$/;

export interface CodeGrant {
  readonly userId: string;
  /** The S256 code_challenge; null only for a confidential OpenID Connect client that sent none. */
  readonly challenge: string | null;
  readonly redirectUri: string;
  /** What the sign-in hook added, for the session the code opens. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** A code of the OpenID Connect provider: the client it was issued to and what it asked for. */
  readonly oidc?: ClientCode;
  /** Checked against the injected clock as well as the store's own expiry. */
  readonly expiresAt: number;
}

export interface ClientCode {
  readonly clientId: string;
  readonly scope: string;
  readonly nonce?: string;
  /** When the person signed in at X. */
  readonly authTimeMs: number;
  /** The browser session the code was issued in. */
  readonly browserSessionId: string;
}

export async function issueCode(store: FlowStore, grant: Omit<CodeGrant, 'expiresAt'>, nowMs: number): Promise<string> {
  const code = randomBytes(32).toString('base64url');
  const record: CodeGrant = { ...grant, expiresAt: nowMs + CODE_TTL_SECONDS * 1000 };
  await store.put(codeKey(code, grant.oidc?.clientId ?? null), JSON.stringify(record), CODE_TTL_SECONDS);
  return code;
}

export type Redemption =
  | { readonly kind: 'grant'; readonly grant: CodeGrant }
  | { readonly kind: 'expired' }
  /** Redeemed before: `sessionId` is the session that redemption opened, null while it is still opening it. */
  | { readonly kind: 'replayed'; readonly sessionId: string | null }
  | { readonly kind: 'unknown' };

/**
 * Takes the code once, leaving in its place the memory that it was
 * redeemed, in one step: whatever the outcome, it cannot be redeemed again,
 * and a second redemption, at once or later, is told so (§4.1.2). A second
 * redemption before the first has recorded its session makes the first's
 * recordRedemption fail, so the session is ended either way.
 */
/** `clientId`: the registered client that authenticated, or null for roost's own apps. */
export async function redeemCode(store: FlowStore, code: string, nowMs: number, clientId: string | null = null): Promise<Redemption> {
  if (!CODE.test(code)) return { kind: 'unknown' };
  const claim = await store.claim(codeKey(code, clientId), REDEEMED_TTL_SECONDS);
  if (claim.kind === 'absent') return { kind: 'unknown' };
  if (claim.kind === 'claimed') return { kind: 'replayed', sessionId: claim.outcome };
  const grant = JSON.parse(claim.value) as CodeGrant;
  return grant.expiresAt <= nowMs ? { kind: 'expired' } : { kind: 'grant', grant };
}

/** Records the session a redemption opened; false when the code was redeemed again meanwhile, and the session must end. */
export async function recordRedemption(store: FlowStore, code: string, sessionId: string, clientId: string | null = null): Promise<boolean> {
  return store.settle(codeKey(code, clientId), sessionId);
}

function codeKey(code: string, clientId: string | null): string {
  return clientId === null ? `code:${digest(code)}` : `code:${digest(`${clientId}\n${code}`)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
